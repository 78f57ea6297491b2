"""Latency of the REST shim under 20 concurrent clients (not a test; prints a report).

    .venv/bin/python -m hubspot_deals_tests.api.bench_latency [--destination postgres]

Starts the stand-in (5,000 deals), `dagster dev` (one run at a time) and the shim, completes one
scan, then measures with 20 client threads: a results page (limit 100, random offsets), the
status of a scan, starting scans (they queue), cancelling them, and results pages while another
scan is running. Also, with --naive-duckdb, how often a scan fails when another process keeps
opening the DuckDB file for short reads (what the shim avoids with its read copies).
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from hubspot_deals_tests.api.conftest import (
    Shim,
    SlowTokenStandIn,
    home_env,
    postgres_database,
    shim_env,
)
from hubspot_deals_tests.conftest import fake_token
from hubspot_deals_tests.servers import DagsterDev

CLIENTS = 20


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"n={len(ordered):4d}  p50={p50 * 1000:7.1f} ms  p99={p99 * 1000:7.1f} ms"


def concurrently(
    call: Callable[[requests.Session, int], requests.Response], per_client: int
) -> list[float]:
    """CLIENTS threads, each with its own session, `per_client` calls each; all must succeed."""
    latencies: list[float] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        with requests.Session() as session:
            for i in range(per_client):
                started = time.perf_counter()
                response = call(session, number * per_client + i)
                elapsed = time.perf_counter() - started
                assert response.status_code < 300, response.text
                with lock:
                    latencies.append(elapsed)

    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(client, n) for n in range(CLIENTS)]:
            future.result()
    return latencies


def sequentially(
    call: Callable[[requests.Session, int], requests.Response], count: int, first: int = 0
) -> list[float]:
    latencies = []
    with requests.Session() as session:
        for n in range(first, first + count):
            started = time.perf_counter()
            response = call(session, n)
            latencies.append(time.perf_counter() - started)
            assert response.status_code < 300, response.text
    return latencies


def naive_duckdb_readers(stack_home: Path, shim: Shim, token: str, scans: int) -> str:
    """Scans started while another process opens the DuckDB file read-only in a loop."""
    script = (
        "import duckdb, sys, time\n"
        "deadline = time.monotonic() + float(sys.argv[2])\n"
        "while time.monotonic() < deadline:\n"
        "    try:\n"
        "        c = duckdb.connect(sys.argv[1], read_only=True)\n"
        "        c.execute('select count(*) from hubspot_deals_extraction.deals').fetchone()\n"
        "        c.close()\n"
        "    except duckdb.Error:\n"
        "        time.sleep(0.01)\n"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", script, str(stack_home / "hubspot_deals.duckdb"), "600"]
    )
    outcomes = []
    try:
        for n in range(scans):
            scan_id = f"naive-{n}"
            assert shim.start_scan(scan_id, token, "org-naive").status_code == 202
            while True:
                status = shim.get(f"/scan/{scan_id}/status").json()["data"]
                if status["status"] in ("completed", "failed"):
                    outcomes.append(status["status"])
                    break
                time.sleep(0.5)
    finally:
        reader.kill()
    return f"{outcomes.count('failed')} of {scans} scans failed ({outcomes})"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--destination", choices=["duckdb", "postgres"], default="duckdb")
    parser.add_argument("--deals", type=int, default=5000)
    parser.add_argument("--naive-duckdb", type=int, default=0, help="scans for that experiment")
    args = parser.parse_args()
    for key in [k for k in os.environ if k.startswith(("HUBSPOT_DEALS_", "HUBSPOT_API_"))]:
        del os.environ[key]
    folder = Path(tempfile.mkdtemp(prefix="shim-bench-"))
    token, slow_token = fake_token(), fake_token()
    home = home_env(folder, "concurrency:\n  runs:\n    max_concurrent_runs: 1\n")
    database = postgres_database(f"api_shim_bench_{os.getpid()}")
    if args.destination == "postgres":
        home["HUBSPOT_DEALS_DESTINATION"] = "postgres"
        home["HUBSPOT_DEALS_POSTGRES_DSN"] = database.__enter__()
    report = [f"destination={args.destination} deals={args.deals} clients={CLIENTS}"]
    try:
        with SlowTokenStandIn(token, slow_token, deals=args.deals, slow_seconds=2.0) as standin:
            dagster_env = {**home, "HUBSPOT_API_BASE_URL": standin.base_url}
            with (
                DagsterDev(dagster_env, folder) as dagster,
                Shim(shim_env(dagster, home), folder) as shim,
            ):
                while shim.get("/health").status_code != 200:
                    time.sleep(1)
                assert shim.start_scan("bench-1", token, "org-bench").status_code == 202
                done = shim.wait_status("bench-1", ("completed",), timeout=600)
                report.append(f"scan of {done['recordsExtracted']} deals: {done['duration']} s")
                total = args.deals
                started = time.perf_counter()
                assert shim.get("/results/bench-1/tables").status_code == 200
                report.append(f"first results read (read copy / counts): "
                              f"{(time.perf_counter() - started) * 1000:.0f} ms")  # fmt: skip

                def page(session: requests.Session, _: int) -> requests.Response:
                    offset = random.randrange(0, max(1, total - 100))
                    return session.get(
                        shim.api + "/results/bench-1/result",
                        params={"tableName": "deals", "limit": 100, "offset": offset},
                        timeout=60,
                    )

                def status(session: requests.Session, _: int) -> requests.Response:
                    return session.get(shim.api + "/scan/bench-1/status", timeout=60)

                def start(session: requests.Session, n: int) -> requests.Response:
                    body = {
                        "config": {
                            "scanId": f"bench-start-{n}",
                            "organizationId": "org-bench",
                            "type": ["user"],
                            "auth": {"accessToken": slow_token},
                        }
                    }
                    return session.post(shim.api + "/scan/start", json=body, timeout=60)

                def cancel(session: requests.Session, n: int) -> requests.Response:
                    return session.post(shim.api + f"/scan/bench-start-{n}/cancel", timeout=60)

                report.append("1 client: page   " + percentiles(sequentially(page, 50)))
                report.append("1 client: status " + percentiles(sequentially(status, 50)))
                report.append("results page  " + percentiles(concurrently(page, 50)))
                report.append("status        " + percentiles(concurrently(status, 50)))
                report.append("1 client: start  " + percentiles(sequentially(start, 20, 1000)))
                report.append("start         " + percentiles(concurrently(start, 5)))
                time.sleep(5)  # one of them is running now
                report.append("page, scan running " + percentiles(concurrently(page, 25)))
                report.append("status, 101 scans  " + percentiles(concurrently(status, 25)))
                report.append("cancel        " + percentiles(concurrently(cancel, 5)))
                report.append("1 client: cancel " + percentiles(sequentially(cancel, 20, 1000)))
                for _ in range(3):
                    started = time.perf_counter()
                    listed = shim.get("/scan/list", params={"limit": 100})
                    total_scans = listed.json()["data"]["pagination"]["total"]
                    elapsed_ms = (time.perf_counter() - started) * 1000
                    report.append(f"list of {total_scans} scans (limit 100): {elapsed_ms:.0f} ms")
                if args.naive_duckdb and args.destination == "duckdb":
                    while shim.get("/stats").json()["data"]["status_breakdown"]["running"]:
                        time.sleep(1)
                    home_dir = Path(home["HUBSPOT_DEALS_HOME"])
                    report.append(
                        "naive short DuckDB reads in another process: "
                        + naive_duckdb_readers(home_dir, shim, token, args.naive_duckdb)
                    )
                copy_lines = [
                    line for line in shim.log().splitlines() if "results copy built" in line
                ]
                report.extend(copy_lines)
    finally:
        if args.destination == "postgres":
            database.__exit__(None, None, None)
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
