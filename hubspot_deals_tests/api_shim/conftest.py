"""Real processes for the REST shim's tests: a HubSpot stand-in, `dagster dev`, the shim under
uvicorn. Each module starts its own stack once (module scope) to keep the suite fast."""

import base64
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from hubspot_deals_tests.servers import DagsterDev, ManagedProcess, free_port
from hubspot_deals_tests.source.standin import StandIn

FINISHED = ("completed", "failed", "cancelled", "crashed")
REPO = {"repositoryLocationName": "hubspot_deals", "repositoryName": "__repository__"}
CONTROL_CHARACTERS_MESSAGE = "Control characters (U+0000-U+001F, U+007F-U+009F) are not allowed"
NUL_FILTERS = [("filter_stage=x%00y", "filter_stage"), ("filter_pipeline=x%00", "filter_pipeline")]


def assert_nul_filters_are_400s(api: str, scan_id: str, headers: dict[str, str]) -> None:
    """A NUL in the ETL results' filters: the same 400 naming the filter on every destination
    (PostgreSQL refuses NUL in a string; DuckDB matched nothing), before any database read."""
    for query, field in NUL_FILTERS:
        response = requests.get(
            f"{api}/scans/{scan_id}/results?{query}", headers=headers, timeout=60
        )
        assert response.status_code == 400, response.text
        body = response.json()
        assert body.pop("timestamp").endswith("Z")
        assert body == {
            "error": "validation_error",
            "message": "Input validation failed",
            "details": {field: CONTROL_CHARACTERS_MESSAGE},
        }


class SlowTokenStandIn(StandIn):
    """The stand-in, plus a second token whose every request waits `slow_seconds`: scans with
    it are still running when a test looks at them.

    `hold(offset)` makes the slow token's pages of live deals from `offset` on wait until
    `release()`: a scan then cannot finish, however slow the machine, until the test says so.
    """

    def __init__(self, token: str, slow_token: str, deals: int = 400, slow_seconds: float = 0.6):
        self.slow_token = slow_token
        self.slow_seconds = slow_seconds
        self._held_from: int | None = None
        self._released = threading.Event()
        super().__init__(token, deals)

    def hold(self, offset: int) -> None:
        self._released.clear()
        self._held_from = offset

    def release(self) -> None:
        self._held_from = None
        self._released.set()

    def __exit__(self, *exc: object) -> None:
        self.release()
        super().__exit__(*exc)

    def _held(self, path: str) -> bool:
        url = urlparse(path)
        if self._held_from is None or url.path != "/crm/v3/objects/deals":
            return False
        query = parse_qs(url.query)
        if query.get("archived", ["false"])[0] == "true":
            return False
        after = query.get("after", [None])[0]
        start = int(base64.b64decode(after).decode().split(":")[1]) if after else 0
        return start >= self._held_from

    def _handler(self) -> type:
        base = super()._handler()
        standin = self

        class Handler(base):  # type: ignore[misc, valid-type]
            def _authorized(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {standin.slow_token}":
                    time.sleep(standin.slow_seconds)
                    if standin._held(self.path):
                        standin._released.wait(timeout=300)
                    return True
                return super()._authorized()

        return Handler


def home_env(folder: Path, dagster_yaml: str = "") -> dict[str, str]:
    """An isolated HUBSPOT_DEALS_HOME and DAGSTER_HOME under `folder` (DuckDB destination)."""
    home = folder / "home"
    dagster_home = home / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n" + dagster_yaml)
    return {
        "HUBSPOT_DEALS_HOME": str(home),
        "DAGSTER_HOME": str(dagster_home),
        "HUBSPOT_DEALS_DESTINATION": "duckdb",
    }


class Shim:
    """`python -m api_shim` on a free port, driven over HTTP like a client would."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str = "shim") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = self.url + "/api/v1"
        args = [sys.executable, "-m", "api_shim", "--port", str(self.port), "--log-level", "info"]
        full_env = {**os.environ, **env}
        self.process = ManagedProcess(args, full_env, log_dir / f"{name}.log")
        self.session = requests.Session()

    def __enter__(self) -> "Shim":
        self.process.start()
        try:
            self.process.wait_http(self.api + "/openapi.json", timeout=60)
        except BaseException:
            self.process.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.stop()
        self.session.close()

    def wait_healthy(self, timeout: float = 120) -> None:
        """Until /health answers 200 (Dagster's location loaded, the daemon beating)."""
        deadline = time.monotonic() + timeout
        while self.get("/health").status_code != 200:
            assert time.monotonic() < deadline, self.get("/health").text
            time.sleep(1)

    def log(self) -> str:
        return self.process.log_path.read_text(errors="replace")

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return self.session.request(method, self.api + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def start_scan(
        self,
        scan_id: str,
        token: str,
        organization_id: str = "org-test",
        filters: dict[str, Any] | None = None,
    ) -> requests.Response:
        config: dict[str, Any] = {
            "scanId": scan_id,
            "organizationId": organization_id,
            "type": ["user"],
            "auth": {"accessToken": token},
        }
        if filters is not None:
            config["filters"] = filters
        return self.post("/scan/start", json={"config": config})

    def status(self, scan_id: str) -> dict[str, Any]:
        """The scan's status data (200 asserted)."""
        response = self.get(f"/scan/{scan_id}/status")
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def walk(
        self,
        scan_id: str,
        until: Callable[[dict[str, Any]], bool],
        timeout: float = 240.0,
        every: float = 0.2,
    ) -> tuple[list[str], dict[str, Any]]:
        """Polls the status until `until(data)`; returns the statuses seen (repeats folded)."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            data = self.status(scan_id)
            if not seen or seen[-1] != data["status"]:
                seen.append(data["status"])
            if until(data):
                return seen, data
            assert time.monotonic() < deadline, f"{scan_id}: {seen} {data}"
            time.sleep(every)

    def wait_status(
        self, scan_id: str, statuses: tuple[str, ...], timeout: float = 180.0
    ) -> dict[str, Any]:
        """Polls the scan's status until it is one of `statuses`; returns the status data."""
        deadline = time.monotonic() + timeout
        data: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = self.get(f"/scan/{scan_id}/status")
            assert response.status_code == 200, response.text
            data = response.json()["data"]
            if data["status"] in statuses:
                return data
            assert data["status"] not in FINISHED or data["metadata"]["dagsterRunStatus"] in (
                "CANCELING",
            ), f"scan {scan_id} ended {data['status']}, not {statuses}: {data}"
            time.sleep(0.5)
        raise AssertionError(f"scan {scan_id} not in {statuses} after {timeout}s: {data}")

    def all_records(self, scan_id: str, table: str, limit: int = 500) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        offset = 0
        while True:
            response = self.get(
                f"/results/{scan_id}/result",
                params={"tableName": table, "limit": limit, "offset": offset},
            )
            assert response.status_code == 200, response.text
            data = response.json()["data"]
            records.extend(data["records"])
            if not data["pagination"]["hasMore"]:
                return records
            offset += limit


def shim_env(dagster: DagsterDev | None, home: dict[str, str], **settings: str) -> dict[str, str]:
    """Environment of a shim using `dagster` (or an unreachable one) and the given home."""
    url = dagster.url + "/graphql" if dagster else f"http://127.0.0.1:{free_port()}/graphql"
    env = {
        **home,
        "HUBSPOT_DEALS_API_DAGSTER_GRAPHQL_URL": url,
        # The suite calls the scan endpoints far more often than the documented 100/hour.
        "HUBSPOT_DEALS_API_RATE_LIMIT_SCAN": "100000/hour",
        "HUBSPOT_DEALS_API_RATE_LIMIT_RESULTS": "100000/hour",
        "HUBSPOT_DEALS_API_RATE_LIMIT_MAINTENANCE": "100000/hour",
        "HUBSPOT_DEALS_API_RATE_LIMIT_HEALTH": "100000/hour",
    }
    env.update({f"HUBSPOT_DEALS_API_{k.upper()}": v for k, v in settings.items()})
    return env


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    return tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
def clean_env() -> Iterator[None]:
    """Nothing from the outer environment changes where the stack keeps its state."""
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith(("HUBSPOT_DEALS_", "HUBSPOT_API_")) or key in (
                "HUBSPOT_ACCESS_TOKEN",
                "DAGSTER_HOME",
            ):
                patch.delenv(key)
        yield
