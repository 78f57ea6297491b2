"""What resuming costs: a scan stopped part-way and resumed from its checkpoint, against one
that ran through.

.venv/bin/python bench/resume_bench.py --deals 100000 --stop-at 0.5 [--destination postgres]

The stop is a token revoked mid-scan (the scan fails with an authentication error and keeps what
it committed); the token is then restored and the scan run again, which resumes after its last
checkpoint. Figures: HubSpot requests and seconds of each run, and what the stop cost in all.
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

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PG_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--stop-at", type=float, default=0.5, help="share of deals read first")
    parser.add_argument("--destination", choices=("duckdb", "postgres"), default="duckdb")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="hubspot-deals-resume-"))
    (home / "dagster_home").mkdir()
    (home / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ.update(
        HUBSPOT_DEALS_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster_home"),
        HUBSPOT_DEALS_DESTINATION=args.destination,
        HUBSPOT_DEALS_POSTGRES_DSN=os.environ.get("HUBSPOT_DEALS_POSTGRES_DSN", PG_DSN),
    )
    from dagster import DagsterInstance

    from hubspot_deals.defs.launch import execute_scan
    from hubspot_deals.load.reads import count_scan_rows
    from hubspot_deals.scan import scan_run_config
    from hubspot_deals.settings import get_settings
    from hubspot_sandbox.process import SandboxServer

    get_settings.cache_clear()
    token = "bench-" + secrets.token_hex(16)
    with SandboxServer(deals=args.deals, seed=1, tokens=[token]) as sandbox:
        os.environ["HUBSPOT_API_BASE_URL"] = sandbox.base_url
        get_settings.cache_clear()

        def served() -> dict:
            return requests.get(sandbox.url("/__sandbox/stats"), timeout=10).json()

        def revoke_at(deals: int) -> threading.Thread:
            def watch() -> None:
                while served()["dealsServed"] < deals:
                    time.sleep(0.01)
                requests.post(sandbox.url(f"/__sandbox/tokens/{token}/revoke"), timeout=10)

            thread = threading.Thread(target=watch, daemon=True)
            thread.start()
            return thread

        config = scan_run_config("org", token, include_archived=True)
        with DagsterInstance.get() as instance:

            def timed_scan(scan_id: str, reset: bool = True) -> tuple[object, float, dict]:
                if reset:
                    sandbox.reset_stats()
                started = time.perf_counter()
                outcome = execute_scan(instance, scan_id, config)
                return outcome, time.perf_counter() - started, served()

            through, through_s, through_stats = timed_scan("through")
            assert through.success, through.error
            sandbox.reset_stats()  # before the watcher counts
            watcher = revoke_at(int(args.deals * args.stop_at))
            stopped, stopped_s, stopped_stats = timed_scan("stopped", reset=False)
            watcher.join()
            assert not stopped.success
            kept = count_scan_rows("deals", "stopped")
            sandbox.admin("POST", "tokens", {"token": token})
            resumed, resumed_s, resumed_stats = timed_scan("stopped")
            assert resumed.success, resumed.error
        assert count_scan_rows("deals", "stopped") == count_scan_rows("deals", "through")
    figures = {
        "deals": args.deals,
        "destination": args.destination,
        "uninterrupted": {"requests": through_stats["requestsTotal"], "seconds": through_s},
        "stopped_run": {
            "requests": stopped_stats["requestsTotal"],
            "seconds": stopped_s,
            "deals_read": stopped_stats["dealsServed"],
            "deals_kept": kept,
        },
        "resumed_run": {
            "requests": resumed_stats["requestsTotal"],
            "seconds": resumed_s,
            "deals_read": resumed_stats["dealsServed"],
            "resumed_after_deals": resumed.deals_metadata["resumed_after_deals"],
        },
    }
    total_requests = stopped_stats["requestsTotal"] + resumed_stats["requestsTotal"]
    extra = total_requests - through_stats["requestsTotal"]
    print(f"{args.deals:,} deals into {args.destination}; stopped after about {args.stop_at:.0%}")
    print(f"uninterrupted scan: {through_stats['requestsTotal']:>6} requests, {through_s:6.1f} s")
    print(
        f"stopped run:        {stopped_stats['requestsTotal']:>6} requests, {stopped_s:6.1f} s, "
        f"{kept:,} deals kept (checkpointed)"
    )
    print(
        f"resumed run:        {resumed_stats['requestsTotal']:>6} requests, {resumed_s:6.1f} s, "
        f"{resumed_stats['dealsServed']:,} deals read"
    )
    share = resumed_stats["requestsTotal"] / through_stats["requestsTotal"]
    print(
        f"resumed run / uninterrupted: {share:.1%} of the requests, {resumed_s / through_s:.1%} "
        f"of the time; the stop cost {extra} extra requests in all"
    )
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
