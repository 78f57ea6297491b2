"""Run the sandbox in a subprocess: real HTTP on a free port, no GIL shared with the client.

    with SandboxServer(deals=2000, seed=7, tokens=["t1", "t2:crm.objects.deals.read"]) as sb:
        requests.get(f"{sb.base_url}/crm/v3/objects/deals", headers=sb.auth_headers())

The process is terminated (then killed) on exit, also when the block raises, and at interpreter
exit for servers that were started but never stopped.
"""

from __future__ import annotations

import atexit
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from types import TracebackType
from typing import IO, Any

import orjson

from hubspot_sandbox.account import SandboxAccount
from hubspot_sandbox.auth import generate_token, parse_token_spec
from hubspot_sandbox.cli import TOKENS_ENV
from hubspot_sandbox.config import SandboxConfig
from hubspot_sandbox.crm_objects import CrmObjects

_STARTED = re.compile(r"HubSpot sandbox on (?P<url>http://\S+)")
_running: weakref.WeakSet[SandboxServer] = weakref.WeakSet()


class SandboxStartError(RuntimeError):
    """The sandbox process exited or did not become healthy in time."""


class SandboxServer:
    """A sandbox process. Keyword options are `SandboxConfig` fields (e.g. `rate_limit=100`,
    `fault_rate=0.1`, `custom_properties=400`); `port` defaults to a free one.

    Without `tokens`, one random token with every scope is generated (see `.token`).
    """

    def __init__(
        self,
        deals: int = 10_000,
        seed: int = 1,
        tokens: list[str] | tuple[str, ...] | None = None,
        *,
        startup_timeout: float = 60.0,
        **options: Any,
    ) -> None:
        options.setdefault("port", 0)
        token_specs = tuple(tokens) if tokens else (generate_token(),)
        self.config = SandboxConfig(deals=deals, seed=seed, tokens=token_specs, **options)
        self.startup_timeout = startup_timeout
        self.base_url = ""
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._lines: queue.Queue[str] = queue.Queue()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> SandboxServer:
        if self.process is not None:
            return self
        env = dict(os.environ)
        env.pop(TOKENS_ENV, None)  # only the tokens given here
        self.base_url = ""
        self._lines = queue.Queue()
        # the server's stderr, shown when it fails to start
        self._log = tempfile.TemporaryFile(prefix="hubspot-sandbox-")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hubspot_sandbox", *self.config.to_argv()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
        )
        _running.add(self)
        threading.Thread(
            target=self._drain, args=(self.process.stdout,), daemon=True, name="sandbox-stdout"
        ).start()
        try:
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _drain(self, stdout: IO[bytes]) -> None:
        try:
            for raw in stdout:
                self._lines.put(raw.decode("utf-8", "replace"))
        except ValueError:  # closed by stop()
            return

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while not self.base_url:
            if time.monotonic() > deadline:
                raise SandboxStartError(f"sandbox did not start in time; {self._log_tail()}")
            try:
                line = self._lines.get(timeout=0.1)
            except queue.Empty:
                if self.process is not None and self.process.poll() is not None:
                    raise SandboxStartError(
                        f"sandbox exited with {self.process.returncode}; {self._log_tail()}"
                    ) from None
                continue
            match = _STARTED.search(line)
            if match:
                self.base_url = match["url"]
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url("/__sandbox/health"), timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if self.process is not None and self.process.poll() is not None:
                raise SandboxStartError(f"sandbox exited; {self._log_tail()}")
            time.sleep(0.02)
        raise SandboxStartError(f"sandbox never became healthy; {self._log_tail()}")

    def _log_tail(self) -> str:
        if self._log is None:
            return "no log"
        self._log.seek(0)
        return "log: " + self._log.read().decode("utf-8", "replace")[-2000:]

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        _running.discard(self)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # ------------------------------------------------------------------ conveniences

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def tokens(self) -> list[str]:
        """The configured tokens, without their scope lists."""
        return [parse_token_spec(spec)[0] for spec in self.config.tokens]

    @property
    def token(self) -> str:
        """The first configured token."""
        return self.tokens[0]

    def auth_headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def url(self, path: str) -> str:
        return self.base_url + path

    def account(self) -> SandboxAccount:
        """A fresh SandboxAccount with the server's data (before any admin-route change)."""
        c = self.config
        return SandboxAccount(
            seed=c.seed,
            deals=c.deals,
            custom_properties=c.custom_properties,
            archived_share=c.archived_share,
            owners=c.owners,
        )

    def crm(self) -> CrmObjects:
        """The objects around the deals (companies, contacts, associations, stage history) as a
        fresh server serves them."""
        return CrmObjects(self.account())

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Calls an `/__sandbox/` route and returns its decoded JSON (raises on HTTP errors)."""
        data = None if body is None else orjson.dumps(body)
        request = urllib.request.Request(
            self.url("/__sandbox/" + path.lstrip("/")),
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as resp:
            return orjson.loads(resp.read())

    def stats(self) -> dict[str, Any]:
        return self.admin("GET", "stats")

    def reset_stats(self, limits: bool = False) -> None:
        self.admin("POST", "stats/reset" + ("?limits=true" if limits else ""), {})


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_running):
        server.stop()
