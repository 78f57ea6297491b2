"""Child processes of the local stack (Dagster, the REST API), started and stopped as a group."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from hubspot_deals.source.memory import LEAN_ENV

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_or_free(port: int) -> int:
    """`port` if nothing listens on it, else (or for 0) any free port."""
    if port == 0:
        return free_port()
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            return free_port()


class ChildProcess:
    """A process in its own session, so that it and everything it spawns stop together."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.args, self.env, self.log_path = args, env, log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> "ChildProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115  kept open for the child's lifetime
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_http(self, url: str, timeout: float = 120.0, ok: int = 500) -> None:
        """Waits until `url` answers with a status below `ok`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.args[0]} exited:\n{self.log_tail()}")
            try:
                if requests.get(url, timeout=2).status_code < ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{url} did not answer in {timeout:.0f}s:\n{self.log_tail()}")

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


def dagster_dev(
    port: int, env: dict[str, str], log_path: Path, workspace: Path | str = "workspace.yaml"
) -> ChildProcess:
    """`dagster dev -w workspace.yaml`: webserver, daemon and the code location; the code
    server and its run workers start with the scans' lean allocator settings (importing the
    definitions sets nothing process-wide itself)."""
    args = [str(BIN / "dagster"), "dev", "-w", str(workspace), "-h", "127.0.0.1",
            "-p", str(port)]  # fmt: skip
    return ChildProcess(args, {**LEAN_ENV, **env}, log_path)


def rest_api(
    port: int,
    env: dict[str, str],
    log_path: Path,
    host: str = "127.0.0.1",
    open_access: bool = False,
) -> ChildProcess:
    """The REST shim under uvicorn (`hubspot-deals api`). `open_access`: serve clients on this
    machine without API keys while none exists (the demo's choice; see HUBSPOT_DEALS_API_
    OPEN_ACCESS), rather than refuse to start without one."""
    args = [str(BIN / "hubspot-deals"), "api", "--host", host, "--port", str(port),
            "--log-level", "warning"]  # fmt: skip
    if open_access:
        env = {**env, "HUBSPOT_DEALS_API_OPEN_ACCESS": "true"}
    return ChildProcess(args, env, log_path)
