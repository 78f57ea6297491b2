"""A PostgreSQL outage mid-scan: the scan waits it out (or fails transiently and resumes) and
its rows end exact, never duplicated. The outage is a TCP proxy in front of the machine's
PostgreSQL that drops every connection and refuses new ones for a while."""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from dagster import DagsterInstance

from hubspot_deals.launch import execute_scan, scan_run_config
from hubspot_deals.settings import get_settings
from hubspot_deals_tests.conftest import fake_token, scan_rows
from hubspot_sandbox.process import SandboxServer

pytestmark = pytest.mark.postgres


class CuttableProxy:
    """Forwards a local port to PostgreSQL until `cut()`, which closes every connection and
    stops listening (clients get 'connection refused') until `restore()`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.dropped = 0  # connections cut by outages

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        assert self._listener is not None
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
            self.dropped += len(sockets) // 2
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def restore(self) -> None:
        self._listen()

    def __enter__(self) -> "CuttableProxy":
        self._listen()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut()


@pytest.fixture
def proxied_postgres(postgres_destination: str, monkeypatch) -> Iterator[CuttableProxy]:
    host_port, database = postgres_destination.rsplit("@", 1)[1].split("/", 1)
    host, port = host_port.split(":")
    with CuttableProxy((host, int(port))) as proxy:
        monkeypatch.setenv(
            "HUBSPOT_DEALS_POSTGRES_DSN", f"postgresql://postgres@127.0.0.1:{proxy.port}/{database}"
        )
        monkeypatch.setenv("HUBSPOT_DEALS_CHECKPOINT_DEALS", "1000")
        get_settings.cache_clear()
        yield proxy


def test_postgres_outage_mid_scan_is_waited_out_with_exact_rows(
    instance: DagsterInstance, monkeypatch, proxied_postgres: CuttableProxy
) -> None:
    token = fake_token()
    with SandboxServer(deals=8_000, seed=17, tokens=[token], latency_ms=10) as sandbox:
        monkeypatch.setenv("HUBSPOT_API_BASE_URL", sandbox.base_url)
        get_settings.cache_clear()

        restored_at: list[float] = []

        def outage() -> None:
            deadline = time.monotonic() + 120
            while (
                requests.get(sandbox.url("/__sandbox/stats"), timeout=5).json()["dealsServed"]
                < 3_000
            ):
                assert time.monotonic() < deadline
                time.sleep(0.02)
            proxied_postgres.cut()
            time.sleep(4)
            proxied_postgres.restore()
            restored_at.append(time.monotonic())

        cutter = threading.Thread(target=outage, daemon=True)
        cutter.start()
        outcome = execute_scan(instance, "outage", scan_run_config("org", token, None, True))
        ended_at = time.monotonic()
        cutter.join(30)
        account = sandbox.account()
    assert outcome.success, outcome.error
    # The outage cut the scan's open connections and ended before the scan did: dlt's loader
    # and the scan's own wait for a busy destination carried it through.
    assert proxied_postgres.dropped >= 1
    assert restored_at and restored_at[0] < ended_at
    ids = [r["id"] for r in scan_rows("deals", "outage")]
    assert ids == sorted(account.live_deal_ids() + account.archived_deal_ids())
