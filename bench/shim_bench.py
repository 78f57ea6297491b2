"""Benchmark: the REST API's latency figures of the performance issue, from one run.

    .venv/bin/python bench/shim_bench.py                  # both destinations
    .venv/bin/python bench/shim_bench.py --only duckdb

For each destination: a HubSpot stand-in (`--deals`, 8 properties), `dagster dev` (one run at a
time) and the API under uvicorn, as deployed. One scan is completed first; then 20 client
threads, each with its own connection, measure

- the status of a scan (`GET /scan/{id}/status`),
- a results page (limit 100, random offsets),
- starting scans (they queue behind each other: the figure is the API's, not the scan's),
- cancelling them,
- and on PostgreSQL (Dagster's storage in PostgreSQL too, as in production) the page at
  offset 900,000 of a 1,000,000-row scan (the scan grown by generated rows, as a large scan
  leaves it: indexed by the API, vacuumed).

Writes `bench/results/shim.json`; `scan_bench.py` runs it last and adds its table to the
README's. Not a test: the machine's load average is printed next to the figures.
"""

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hubspot_deals.settings import DATASET_NAME  # noqa: E402
from hubspot_deals_tests.api_shim.conftest import Shim, SlowTokenStandIn, home_env, shim_env  # noqa: E402
from hubspot_deals_tests.conftest import fake_token, postgres_database  # noqa: E402
from hubspot_deals_tests.servers import DagsterDev  # noqa: E402

RESULTS = REPO / "bench" / "results"
CLIENTS = 20
MILLION = 1_000_000
TARGETS_MS = {"status_p99": 50, "page_p99": 100, "start_p50": 300, "deep_page_p99": 200}
Call = Callable[[requests.Session, int], requests.Response]
PACE = 1.0  # seconds between one client's requests: 20 clients, 20 requests/s


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def saturated(call: Call, per_client: int) -> dict:
    """20 clients without a pause: latency, and the requests per second the API served."""
    started = time.perf_counter()
    samples = concurrently(call, per_client)
    return {**summary(samples), "per_s": round(len(samples) / (time.perf_counter() - started))}


def concurrently(
    call: Call, per_client: int, clients: int = CLIENTS, every: float | None = None
) -> list[float]:
    """`clients` threads, each with its own session, `per_client` calls each; all must
    succeed. The clients start together, after one untimed call each (its connection).

    `every`: each client sends a request every `every` seconds (at fixed times, from a random
    phase), as users and dashboards do; without it, each sends its next request as soon as the
    last is answered (saturation: the latency is then the API's throughput in disguise)."""
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(number: int) -> None:
        with requests.Session() as session:
            call(session, -1 - number)  # connect; not measured
            barrier.wait()
            start = time.perf_counter() + (random.uniform(0, every) if every else 0)
            for i in range(per_client):
                if every:
                    time.sleep(max(0.0, start + i * every - time.perf_counter()))
                started = time.perf_counter()
                response = call(session, number * per_client + i)
                elapsed = time.perf_counter() - started
                assert response.status_code < 300, response.text
                with lock:
                    latencies.append(elapsed)

    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client, n) for n in range(clients)]:
            future.result()
    return latencies


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


@contextmanager
def api_stack(
    folder: Path, deals: int, destination_env: dict[str, str], dagster_yaml: str = ""
) -> Iterator[dict]:
    token, slow_token = fake_token(), fake_token()
    instance = "concurrency:\n  runs:\n    max_concurrent_runs: 1\n" + dagster_yaml
    home = {**home_env(folder, instance), **destination_env}
    with SlowTokenStandIn(token, slow_token, deals=deals, slow_seconds=2.0) as standin:
        dagster_env = {**home, "HUBSPOT_API_BASE_URL": standin.base_url}
        with (
            DagsterDev(dagster_env, folder) as dagster,
            Shim(shim_env(dagster, home, open_access="true"), folder) as shim,
        ):
            shim.wait_healthy()
            yield {"shim": shim, "token": token, "slow_token": slow_token}


def measure(stack: dict, deals: int, label: str) -> dict:
    shim: Shim = stack["shim"]
    figures: dict = {"destination": label, "load_average": {"start": load_average()}}
    assert shim.start_scan("bench-1", stack["token"], "org-bench").status_code == 202
    done = shim.wait_status("bench-1", ("completed",), timeout=900)
    figures["scan"] = {"deals": done["recordsExtracted"], "seconds": done["duration"]}
    total = shim.get("/results/bench-1/tables").json()["data"]["tables"][0]["rowCount"]

    def page(session: requests.Session, _: int) -> requests.Response:
        return session.get(
            shim.api + "/results/bench-1/result",
            params={"tableName": "deals", "limit": 100, "offset": random.randrange(total - 100)},
            timeout=60,
        )

    def status(session: requests.Session, _: int) -> requests.Response:
        return session.get(shim.api + "/scan/bench-1/status", timeout=60)

    def start(session: requests.Session, n: int) -> requests.Response:
        if n < 0:
            return session.get(shim.api + "/health", timeout=60)
        body = {
            "config": {
                "scanId": f"bench-start-{n}",
                "organizationId": "org-bench",
                "type": ["user"],
                "auth": {"accessToken": stack["slow_token"]},
            }
        }
        return session.post(shim.api + "/scan/start", json=body, timeout=60)

    def cancel(session: requests.Session, n: int) -> requests.Response:
        if n < 0:
            return session.get(shim.api + "/health", timeout=60)
        return session.post(shim.api + f"/scan/bench-start-{n}/cancel", timeout=60)

    figures["status_1_client"] = summary(concurrently(status, 100, clients=1))
    figures["status"] = summary(concurrently(status, 20, every=PACE))
    figures["status_saturated"] = saturated(status, 50)
    figures["page_1_client"] = summary(concurrently(page, 100, clients=1))
    figures["page"] = summary(concurrently(page, 20, every=PACE))
    figures["page_saturated"] = saturated(page, 50)
    figures["start_1_client"] = summary(concurrently(start, 10, clients=1, every=1.0))
    figures["start"] = summary(concurrently(lambda s, n: start(s, n if n < 0 else 100 + n), 3))
    figures["cancel"] = summary(
        concurrently(lambda s, n: cancel(s, n if n < 0 else 100 + n), 3)
        + concurrently(cancel, 10, clients=1)
    )
    figures["load_average"]["end"] = load_average()
    figures["start_log"] = [
        line.split("scan started ", 1)[1]
        for line in shim.log().splitlines()
        if "scan started scan_id=bench-start-" in line
    ][:10]
    return figures


def deep_page(stack: dict, dsn: str) -> dict:
    """The scan grown to a million rows, as a large scan's table is left: the API's key index
    built, vacuumed. The first deep page, then 20 sequential and 20 x 10 concurrent ones."""
    import psycopg2

    shim: Shim = stack["shim"]
    assert shim.start_scan("deep-1", stack["token"], "org-bench").status_code == 202
    shim.wait_status("deep-1", ("completed",), timeout=900)
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND "
            "table_name = 'deals' AND is_nullable = 'NO' AND column_name NOT IN "
            "('id', 'archived', '_scan_id', '_organization_id')",
            (DATASET_NAME,),
        )
        required = [name for (name,) in cur.fetchall()]
        cur.execute(f"SELECT count(*) FROM {DATASET_NAME}.deals WHERE _scan_id = 'deep-1'")
        scanned = cur.fetchone()[0]
        cur.execute(
            f"INSERT INTO {DATASET_NAME}.deals (id, dealname, amount, createdate, archived, "
            f"_scan_id, _organization_id{''.join(', ' + c for c in required)}) "
            "SELECT 'g' || lpad(n::text, 7, '0'), 'Generated deal ' || n, n * 1.5, "
            "timestamptz '2024-01-01 00:00:00+00' + n * interval '1 minute', false, "
            f"'deep-1', 'org-bench'{', 0' * len(required)} FROM generate_series(1, %s) AS n",
            (MILLION - scanned,),
        )
    # The API has not read deep-1 yet: its first read counts the million. The scans created
    # the key index when they loaded; the wait covers a database that had none.
    assert shim.get("/results/deep-1/tables").json()["data"]["tables"][0]["rowCount"] == MILLION
    deadline = time.monotonic() + 300
    with conn.cursor() as cur:
        while True:
            cur.execute(
                "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = 'deals__api_scan_key' AND i.indisvalid"
            )
            if cur.fetchone():
                break
            assert time.monotonic() < deadline, "key index not created"
            time.sleep(0.5)
        cur.execute(f"VACUUM ANALYZE {DATASET_NAME}.deals")
    conn.close()

    def at(offset: int) -> Call:
        def call(session: requests.Session, n: int) -> requests.Response:
            return session.get(
                shim.api + "/results/deep-1/result",
                params={"tableName": "deals", "limit": 100, "offset": offset},
                timeout=60,
            )

        return call

    with requests.Session() as session:
        started = time.perf_counter()
        assert at(900_000)(session, 0).status_code == 200
        first = time.perf_counter() - started
    deadline = time.monotonic() + 120
    while "page anchors of deals for scan deep-1" not in shim.log():
        assert time.monotonic() < deadline, "page anchors not built"
        time.sleep(0.2)
    anchors = next(
        line for line in shim.log().splitlines() if "page anchors of deals for scan deep-1" in line
    )

    def deep(session: requests.Session, n: int) -> requests.Response:
        return at(random.randrange(500_000, MILLION - 100))(session, n)

    return {
        "first_offset_900000_ms": round(first * 1000, 1),
        "anchors": anchors.split("page anchors of ", 1)[1],
        "offset_900000": summary(concurrently(at(900_000), 20, clients=1)),
        "random_deep_20_clients": summary(concurrently(deep, 20, every=PACE)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--only", choices=("duckdb", "postgres"), default=None)
    parser.add_argument("--output", default=str(RESULTS / "shim.json"))
    args = parser.parse_args()
    for key in [k for k in os.environ if k.startswith(("HUBSPOT_DEALS_", "HUBSPOT_API_"))]:
        del os.environ[key]
    results: dict = {"clients": CLIENTS, "deals": args.deals, "targets_ms": TARGETS_MS, "runs": []}
    for destination in ("duckdb", "postgres"):
        if args.only not in (None, destination):
            continue
        with ExitStack() as stack:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="shim-bench-")))
            env = {"HUBSPOT_DEALS_DESTINATION": destination}
            dagster_yaml = ""
            if destination == "postgres":
                dsn = stack.enter_context(postgres_database(f"shim_bench_{os.getpid()}"))
                env["HUBSPOT_DEALS_POSTGRES_DSN"] = dsn
                # As in production (dagster.yaml): Dagster's own storage in PostgreSQL too.
                storage = stack.enter_context(postgres_database(f"shim_bench_dg_{os.getpid()}"))
                url = storage.replace("postgresql://", "postgresql+psycopg2://", 1)
                dagster_yaml = f"storage:\n  postgres:\n    postgres_url: {url}\n"
            api = stack.enter_context(api_stack(folder, args.deals, env, dagster_yaml))
            figures = measure(api, args.deals, destination)
            figures["dagster_storage"] = "postgres" if dagster_yaml else "sqlite"
            if destination == "postgres":
                figures["deep_page"] = deep_page(api, dsn)
            results["runs"].append(figures)
            print(json.dumps(figures, indent=2), flush=True)
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    return 0


def markdown(results: dict) -> str:
    """The README's table of the run, each figure next to its target."""
    t = TARGETS_MS
    lines = [
        f"A scan of {results['deals']:,} deals completed first. p50 / p99 in ms. Paced: "
        f"{results['clients']} clients, each sending a request every {PACE:g} s "
        f"({results['clients'] / PACE:.0f} requests/s). Saturated: {results['clients']} clients, "
        "each sending its next request as soon as the last is answered.",
        "",
        "| destination | status: 1 client / paced / saturated | page: 1 client / paced / "
        "saturated | start p50: 1 client / 20 at once | cancel p50 | load |",
        "|---|---|---|---|---|---|",
    ]

    def two(figure: dict) -> str:
        return f"{figure['p50_ms']:g} / {figure['p99_ms']:g}"

    for run in results["runs"]:
        lines.append(
            f"| {run['destination']} (Dagster storage: {run.get('dagster_storage', 'sqlite')}) "
            f"| {two(run['status_1_client'])}; {two(run['status'])}; "
            f"{two(run['status_saturated'])} ({run['status_saturated']['per_s']}/s) "
            f"| {two(run['page_1_client'])}; {two(run['page'])}; {two(run['page_saturated'])} "
            f"({run['page_saturated']['per_s']}/s) "
            f"| {run['start_1_client']['p50_ms']:g} / {run['start']['p50_ms']:g} "
            f"| {run['cancel']['p50_ms']:g} "
            f"| {run['load_average']['start']} -> {run['load_average']['end']} |"
        )
    for run in results["runs"]:
        deep = run.get("deep_page")
        if deep:
            lines.append(
                f"\nPage at offset 900,000 of 1,000,000 rows ({run['destination']}): first read "
                f"{deep['first_offset_900000_ms']:g} ms (before its anchors: {deep['anchors']}); "
                f"then p50 / p99 {two(deep['offset_900000'])} ms; random deep pages from 20 "
                f"paced clients p50 / p99 {two(deep['random_deep_20_clients'])} ms."
            )
    lines.append(
        f"\nTargets: status p99 < {t['status_p99']} ms and page p99 < {t['page_p99']} ms with "
        f"20 clients, start p50 < {t['start_p50']} ms, deep page < {t['deep_page_p99']} ms."
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
