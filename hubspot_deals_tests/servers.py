"""Starting and stopping the real processes the integration tests use."""

import os
from pathlib import Path
from typing import Any

import requests

from hubspot_deals.stack import BIN, REPO, ChildProcess, dagster_dev, free_port

__all__ = ["BIN", "REPO", "ChildProcess", "DagsterDev", "ManagedProcess", "free_port"]


ManagedProcess = ChildProcess  # the tests' name for it


class DagsterDev:
    """`dagster dev -w workspace.yaml`: webserver, daemon and the code location."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = dagster_dev(self.port, {**os.environ, **env}, log_dir / "dagster-dev.log")

    def __enter__(self) -> "DagsterDev":
        self.process.start()
        try:
            self.process.wait_http(self.url + "/server_info")
        except BaseException:
            self.process.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.stop()

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = requests.post(
            self.url + "/graphql", json={"query": query, "variables": variables or {}}, timeout=60
        )
        body = resp.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]
