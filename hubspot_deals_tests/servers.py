"""Starting and stopping the real processes the integration tests use."""

import os
import signal
from pathlib import Path
from typing import Any

import requests

from hubspot_deals.stack import BIN, REPO, ChildProcess, dagster_dev, free_port

__all__ = [
    "BIN", "REPO", "ChildProcess", "DagsterDev", "ManagedProcess", "free_port", "kill_leftovers"
]  # fmt: skip


def kill_leftovers(home: str) -> list[int]:
    """Kills every process still running with HUBSPOT_DEALS_HOME=`home` that this test process
    did not start itself (a code server that a stopped Dagster process started in a session of
    its own, say). Returns their pids."""
    marker = f"HUBSPOT_DEALS_HOME={home}".encode()
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == os.getpid():
                continue  # the test's own servers (sandbox, shim) stop themselves
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
        except (OSError, ProcessLookupError):
            continue
    return killed


ManagedProcess = ChildProcess  # the tests' name for it


class DagsterDev:
    """`dagster dev -w workspace.yaml`: webserver, daemon and the code location."""

    def __init__(
        self, env: dict[str, str], log_dir: Path, workspace: Path | str = "workspace.yaml"
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = dagster_dev(
            self.port, {**os.environ, **env}, log_dir / "dagster-dev.log", workspace
        )
        self.home = {**os.environ, **env}.get("HUBSPOT_DEALS_HOME")

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
        if self.home:
            kill_leftovers(self.home)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = requests.post(
            self.url + "/graphql", json={"query": query, "variables": variables or {}}, timeout=60
        )
        body = resp.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]
