"""Starting and stopping the real processes the integration tests use."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import requests

from hubspot_deals.stack import BIN, REPO, ChildProcess, dagster_dev, free_port

__all__ = [
    "BIN", "REPO", "ChildProcess", "DagsterDev", "HeldReadConnection", "ManagedProcess",
    "free_port", "kill_leftovers", "kill_stack",
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


def kill_stack(process: ChildProcess, home: str | None) -> None:
    """Ends a test's Dagster process at once: SIGKILL to its session (the webserver, the daemon,
    their code servers and run workers), then to anything of `home` that left it. On SIGTERM
    `dagster dev` takes 7 to 12 s, idle, for its code servers to wind down; a test's Dagster has
    nothing to save (its storage is in the test's folder, SQLite or PostgreSQL, both safe against
    a kill), and the tests that check a graceful stop (the demo's, the production recipe's) stop
    their own processes."""
    if process.proc is not None and process.proc.poll() is None:
        left = _temp_files_of_session(process.proc.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.proc.pid, signal.SIGKILL)
        process.proc.wait(timeout=30)
        for path in left:  # what a graceful stop removes: its gRPC sockets and workspace file
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    if home:
        kill_leftovers(home)


def _temp_files_of_session(session: int) -> set[Path]:
    """The temp files that session `session`'s processes were given on their command lines
    (`dagster dev` makes a workspace file in a temp folder and a socket per code server)."""
    temp = Path(tempfile.gettempdir())
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit():
                continue
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[3]) != session:
                continue
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except (OSError, ValueError, IndexError):
            continue
        for arg in args:
            path = Path(arg)
            if path.is_absolute() and path.parent == temp and path.name.startswith("tmp"):
                found.add(path)  # a socket
            elif path.name == "workspace.yaml" and path.parent.parent == temp:
                found.add(path.parent)
    return found


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
        kill_stack(self.process, self.home)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = requests.post(
            self.url + "/graphql", json={"query": query, "variables": variables or {}}, timeout=60
        )
        body = resp.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]


_HOLD = (
    "import sys, duckdb\n"
    "connection = duckdb.connect(sys.argv[1], read_only=True)\n"
    "print('held', flush=True)\n"
    "sys.stdin.read()\n"
    "connection.close()\n"
)


class HeldReadConnection:
    """A read-only DuckDB connection to `path`, open in a process of its own until `release()`:
    what the API or an analyst's session does to the file. DuckDB then refuses every other
    process a writable connection ("Could not set lock on file")."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLD, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        if self.process.stdout.readline().strip() != "held":
            self.release()
            error = self.process.stderr.read().strip().splitlines()
            raise RuntimeError(f"could not hold {path} read-only: {error[-1:]}")

    def release(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "HeldReadConnection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
