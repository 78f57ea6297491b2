"""Benchmark: sandbox deals through a full scan into DuckDB and PostgreSQL.

Prints deals/s, HubSpot requests per 1,000 deals, the scan process's peak memory, and, with the
sandbox's rate limit on, the share of the token's ceiling reached (100 deals a page at
limit/10 requests a second). Each scan runs in its own process (`hubspot-deals scan`), so its
peak RSS is the scan's alone. Not a test: run it on a quiet machine.

    .venv/bin/python bench/scan_bench.py --deals 100000
    .venv/bin/python bench/scan_bench.py --deals 20000 --only duckdb --throttle 100
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hubspot_deals.sandbox.process import SandboxServer  # noqa: E402

BIN = Path(sys.executable).parent
PG_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
EIGHT = "dealname,amount,closedate,pipeline,dealstage,createdate,hs_lastmodifieddate,hs_object_id"


def sandbox_stats(base_url: str) -> dict:
    return requests.get(base_url + "/__sandbox/stats", timeout=10).json()


def reset_stats(base_url: str) -> None:
    requests.post(base_url + "/__sandbox/stats/reset", timeout=10).raise_for_status()


def crm_requests(stats: dict) -> int:
    """HubSpot-route requests the sandbox answered (admin routes excluded)."""
    return int(stats["requestsTotal"])


def all_properties(base_url: str, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    defs = requests.get(base_url + "/crm/v3/properties/deals", headers=headers, timeout=30).json()
    return ",".join(d["name"] for d in defs["results"])


def bare_loop(base_url: str, token: str, properties: str) -> float:
    """The floor: GET list pages of 100, decode, discard. Deals/s."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    params: dict = {"limit": 100, "properties": properties}
    deals, started = 0, time.perf_counter()
    while True:
        body = orjson.loads(session.get(base_url + "/crm/v3/objects/deals", params=params).content)
        deals += len(body["results"])
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            break
        params["after"] = after
    return deals / (time.perf_counter() - started)


def run_scan(home: Path, env: dict, scan_id: str, properties: str | None) -> dict:
    """One scan in a child process; returns its wall time, dlt time and peak RSS (MB)."""
    args = [str(BIN / "hubspot-deals"), "scan", scan_id, "--organization-id", "bench", "--json"]
    if properties:
        args += ["--properties", properties]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=err, cwd=REPO)
        # wait4 gives this child's own peak RSS (getrusage would give the largest child's).
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"scan failed:\n{stdout[-2000:]}\n{stderr[-4000:]}")
    meta = json.loads(stdout.strip().splitlines()[-1])
    meta.update(wall_seconds=wall, peak_rss_mb=usage.ru_maxrss / 1024)
    return meta


def scenario(
    name: str, sandbox: SandboxServer, token: str, home: Path, destination: str,
    properties: str | None, deals_expected: int,
) -> dict:  # fmt: skip
    env = {
        **os.environ,
        "HUBSPOT_API_BASE_URL": sandbox.base_url,
        "HUBSPOT_ACCESS_TOKEN": token,
        "HUBSPOT_DEALS_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster_home"),
        "HUBSPOT_DEALS_DESTINATION": destination,
        "HUBSPOT_DEALS_POSTGRES_DSN": PG_DSN,
    }
    reset_stats(sandbox.base_url)
    scan_id = f"bench-{name}-{secrets.token_hex(3)}"
    result = run_scan(home, env, scan_id, properties)
    stats = sandbox_stats(sandbox.base_url)
    n = result["deals_extracted"]
    if n != deals_expected:
        raise RuntimeError(f"{name}: loaded {n} deals, expected {deals_expected}")
    requests_made = crm_requests(stats)
    return {
        "scenario": name,
        "destination": destination,
        "deals": n,
        "deals_per_s": n / result["duration_seconds"],
        "deals_per_s_wall": n / result["wall_seconds"],
        "requests_per_1000": requests_made * 1000 / n,
        "rate_limited": sum(stats["rateLimited"].values()),
        "peak_rss_mb": result["peak_rss_mb"],
        "scan_seconds": result["duration_seconds"],
        "wall_seconds": result["wall_seconds"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--custom-properties", type=int, default=60)
    parser.add_argument("--only", choices=("duckdb", "postgres"), default=None)
    parser.add_argument(
        "--throttle", default="100", help="comma-separated burst limits to measure ('' for none)"
    )
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()

    token = "bench-" + secrets.token_hex(16)
    destinations = [args.only] if args.only else ["duckdb", "postgres"]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="hubspot-deals-bench-") as tmp:
        home = Path(tmp)
        (home / "dagster_home").mkdir()
        (home / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        with SandboxServer(
            deals=args.deals, seed=1, custom_properties=args.custom_properties, tokens=[token]
        ) as sandbox:
            live = sandbox.account().live_count
            bare_all = bare_loop(sandbox.base_url, token, all_properties(sandbox.base_url, token))
            print(f"bare loop, all properties: {bare_all:,.0f} deals/s", flush=True)
            for dest in destinations:
                row = scenario(f"{dest}-all", sandbox, token, home, dest, None, live)
                row["vs_bare_loop"] = row["deals_per_s"] / bare_all
                rows.append(row)
                print(json.dumps(row), flush=True)
            row = scenario("duckdb-8", sandbox, token, home, destinations[0], EIGHT, live)
            rows.append(row)
            print(json.dumps(row), flush=True)
        for limit in [int(x) for x in args.throttle.split(",") if x]:
            with SandboxServer(
                deals=args.deals, seed=1, custom_properties=args.custom_properties,
                tokens=[token], rate_limit=limit,
            ) as sandbox:  # fmt: skip
                row = scenario(
                    f"throttled-{limit}", sandbox, token, home, destinations[0], None, live
                )
                ceiling = limit / 10 * 100
                row["ceiling_deals_per_s"] = ceiling
                row["share_of_ceiling"] = row["deals_per_s"] / ceiling
                rows.append(row)
                print(json.dumps(row), flush=True)

    print()
    print(
        f"{args.deals:,} sandbox deals ({live:,} live), {args.custom_properties} custom properties,"
        f" {os.cpu_count()} cores"
    )
    header = f"{'scenario':<16}{'deals/s':>10}{'req/1k':>8}{'429s':>6}{'peak MB':>9}{'extra':>24}"
    print(header)
    for r in rows:
        extra = ""
        if "vs_bare_loop" in r:
            extra = f"{r['vs_bare_loop']:.0%} of bare loop"
        if "share_of_ceiling" in r:
            extra = f"{r['share_of_ceiling']:.1%} of {r['ceiling_deals_per_s']:.0f}/s"
        print(
            f"{r['scenario']:<16}{r['deals_per_s']:>10,.0f}{r['requests_per_1000']:>8.1f}"
            f"{r['rate_limited']:>6}{r['peak_rss_mb']:>9.0f}{extra:>24}"
        )
    print(f"bare loop (all properties): {bare_all:,.0f} deals/s")
    if args.json:
        Path(args.json).write_text(json.dumps({"bare_loop": bare_all, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
