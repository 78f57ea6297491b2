"""HubSpot requests of an incremental scan after a share of deals changed, against a full scan.

.venv/bin/python bench/incremental_bench.py --deals 100000 --changed 0.01
"""

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of live deals edited")
    parser.add_argument(
        "--bulk-edit",
        type=int,
        default=0,
        help="instead: one HubSpot bulk edit of this many deals, all with one modified date",
    )
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="hubspot-deals-incremental-"))
    (home / "dagster_home").mkdir()
    (home / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ.update(HUBSPOT_DEALS_HOME=str(home), DAGSTER_HOME=str(home / "dagster_home"))
    from dagster import DagsterInstance

    from hubspot_deals.defs.launch import execute_scan
    from hubspot_deals.load.reads import DestinationReader
    from hubspot_deals.scan import scan_run_config
    from hubspot_deals.settings import get_settings
    from hubspot_sandbox.process import SandboxServer

    token = "bench-" + secrets.token_hex(16)
    with SandboxServer(deals=args.deals, seed=1, tokens=[token]) as sandbox:
        os.environ["HUBSPOT_API_BASE_URL"] = sandbox.base_url
        get_settings.cache_clear()

        def requests_made() -> int:
            return requests.get(sandbox.url("/__sandbox/stats"), timeout=10).json()["requestsTotal"]

        with DagsterInstance.get() as instance:
            started = time.perf_counter()
            full = execute_scan(instance, "full", scan_run_config("org", token))
            full_seconds, full_requests = time.perf_counter() - started, requests_made()
            assert full.success, full.error
            live = sandbox.account().live_deal_ids()
            if args.bulk_edit:
                changed = live[: args.bulk_edit]
                body = {"property": "dealstage", "value": "closedwon", "ids": changed}
                sandbox.admin("POST", "deals/bulk-edit", body)
            else:
                changed = live[:: max(1, round(1 / args.changed))]
                body = {"ids": changed, "properties": {"dealstage": "closedwon"}}
                sandbox.admin("POST", "deals/modify", body)
            sandbox.reset_stats()
            started = time.perf_counter()
            inc = execute_scan(
                instance, "inc", scan_run_config("org", token, scan_type="incremental")
            )
            inc_seconds, inc_requests = time.perf_counter() - started, requests_made()
            assert inc.success, inc.error
    loaded = inc.deals_metadata["deals_extracted"]
    reader = DestinationReader()
    ids = {
        r[0] for r in reader.query(f"SELECT id FROM {reader.table('deals')} WHERE _scan_id = 'inc'")
    }
    how = "in one bulk edit (one shared modified date)" if args.bulk_edit else "one by one"
    print(f"{args.deals:,} deals ({len(live):,} live); {len(changed):,} edited {how}")
    print(f"incremental scan loaded exactly the edited deals: {ids == set(changed)}")
    print(f"full scan:        {full_requests:>6} HubSpot requests, {full_seconds:6.1f} s")
    print(
        f"incremental scan: {inc_requests:>6} HubSpot requests, {inc_seconds:6.1f} s, "
        f"{loaded:,} deals loaded"
    )
    print(f"incremental / full requests: {inc_requests / full_requests:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
