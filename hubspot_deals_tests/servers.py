"""Starting and stopping the real processes the integration tests use."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ManagedProcess:
    """A child process in its own session, so that it and all it spawns can be stopped."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.args, self.env, self.log_path = args, env, log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> "ManagedProcess":
        log = open(self.log_path, "wb")  # noqa: SIM115  closed with the process
        self.proc = subprocess.Popen(
            self.args, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        return self

    def wait_http(self, url: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"{self.args[0]} exited: {self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(url, timeout=2).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{url} not up after {timeout}s: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


class DagsterDev:
    """`dagster dev -w workspace.yaml`: webserver, daemon and the code location."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1",
                "-p", str(self.port)]  # fmt: skip
        self.process = ManagedProcess(args, {**os.environ, **env}, log_dir / "dagster-dev.log")

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
