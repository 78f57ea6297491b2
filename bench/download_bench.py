"""Benchmark: a 1,000,000-deal table downloaded from the REST API, with the API's memory.

Starts the sandbox, `dagster dev` and the API (DuckDB destination, a temporary home), scans the
sandbox through `POST /scan/start`, then downloads the scan's deals as CSV (and JSON) while
sampling the API process's RSS every 20 ms. Prints, and writes as JSON: the file's size, time to
the first byte, download time and rate, the API's RSS before the download and its peak during it
(the first read of a scan builds the API's DuckDB read copy; that happens before, in
`GET /results/{id}/tables`, and is reported on its own). Not a test: run it on a quiet machine.

    .venv/bin/python bench/download_bench.py --deals 1000000 --json bench/results/download.json
"""

import argparse
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hubspot_deals.stack import dagster_dev, free_port, rest_api  # noqa: E402
from hubspot_sandbox.process import SandboxServer  # noqa: E402

EIGHT = ["dealname", "amount", "closedate", "pipeline", "dealstage", "createdate",
         "hs_lastmodifieddate", "hs_object_id"]  # fmt: skip


class RssSampler:
    """The peak RSS of a process, sampled on a thread."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = self.process.memory_info().rss
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def mb(n: float) -> float:
    return round(n / 2**20, 1)


def download(api: str, scan_id: str, fmt: str, pid: int) -> dict:
    before = psutil.Process(pid).memory_info().rss
    size, first_byte = 0, None
    started = time.monotonic()
    with (
        RssSampler(pid) as sampler,
        requests.get(
            f"{api}/results/{scan_id}/download/{fmt}",
            params={"tableName": "deals"},
            stream=True,
            timeout=3600,
        ) as resp,
    ):
        resp.raise_for_status()
        for chunk in resp.iter_content(chunk_size=1 << 20):
            if first_byte is None:
                first_byte = time.monotonic() - started
            size += len(chunk)
    seconds = time.monotonic() - started
    return {
        "format": fmt,
        "bytes": size,
        "mb": mb(size),
        "first_byte_seconds": round(first_byte or 0.0, 3),
        "seconds": round(seconds, 1),
        "mb_per_second": round(mb(size) / seconds, 1),
        "api_rss_before_mb": mb(before),
        "api_rss_peak_mb": mb(sampler.peak),
        "api_rss_growth_mb": mb(sampler.peak - before),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--all-properties", action="store_true",
                        help="scan every property (default: HubSpot's 8 default ones)")  # fmt: skip
    parser.add_argument("--formats", default="csv,json")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    token = "bench-" + secrets.token_hex(12)
    live = args.deals - round(args.deals * 0.05)
    with (
        tempfile.TemporaryDirectory(prefix="download-bench-") as tmp,
        SandboxServer(deals=args.deals, seed=1, tokens=[token]) as sandbox,
    ):
        home = Path(tmp) / "home"
        (home / "dagster_home").mkdir(parents=True)
        (home / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HUBSPOT_")},
            "HUBSPOT_DEALS_HOME": str(home),
            "DAGSTER_HOME": str(home / "dagster_home"),
            "HUBSPOT_DEALS_DESTINATION": "duckdb",
            "HUBSPOT_API_BASE_URL": sandbox.base_url,
        }
        dagster_port, api_port = free_port(), free_port()
        dagster = dagster_dev(dagster_port, env, Path(tmp) / "dagster.log").start()
        api_env = {**env, "HUBSPOT_DEALS_API_DAGSTER_GRAPHQL_URL":
                   f"http://127.0.0.1:{dagster_port}/graphql"}  # fmt: skip
        shim = rest_api(api_port, api_env, Path(tmp) / "api.log", open_access=True).start()
        api = f"http://127.0.0.1:{api_port}/api/v1"
        try:
            dagster.wait_http(f"http://127.0.0.1:{dagster_port}/server_info", timeout=180)
            shim.wait_http(api + "/openapi.json", timeout=120)
            while requests.get(api + "/health", timeout=30).status_code != 200:
                time.sleep(1)
            config: dict = {"scanId": "bench-download", "organizationId": "bench",
                            "type": ["user"], "auth": {"accessToken": token}}  # fmt: skip
            if not args.all_properties:
                config["filters"] = {"properties": EIGHT}
            started = time.monotonic()
            requests.post(
                api + "/scan/start", json={"config": config}, timeout=60
            ).raise_for_status()
            while True:
                status = requests.get(api + "/scan/bench-download/status", timeout=60).json()
                state = status["data"]["status"]
                if state == "completed":
                    break
                if state in ("failed", "cancelled", "crashed"):
                    raise SystemExit(f"scan {state}: {status['data'].get('errorMessage')}")
                time.sleep(2)
            scan_seconds = time.monotonic() - started
            pid = shim.proc.pid  # type: ignore[union-attr]
            before_copy = psutil.Process(pid).memory_info().rss
            copy_started = time.monotonic()
            with RssSampler(pid) as sampler:
                tables = requests.get(api + "/results/bench-download/tables", timeout=3600).json()
            rows = {t["name"]: t["rowCount"] for t in tables["data"]["tables"]}
            assert rows["deals"] == live, rows
            result = {
                "deals": live,
                "properties": "all" if args.all_properties else "8 default",
                "scan_seconds": round(scan_seconds, 1),
                "read_copy": {
                    "seconds": round(time.monotonic() - copy_started, 1),
                    "api_rss_before_mb": mb(before_copy),
                    "api_rss_peak_mb": mb(sampler.peak),
                },
                "downloads": [
                    download(api, "bench-download", f, pid) for f in args.formats.split(",")
                ],  # fmt: skip
            }
        finally:
            shim.stop()
            dagster.stop()
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
