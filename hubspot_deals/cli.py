"""`hubspot-deals`: the quick-start demo, one-off scans, token encryption and the sandbox."""

import argparse
import getpass
import json
import os
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

# The embedded default instance: SQLite storage under DAGSTER_HOME, and one run at a time,
# because DuckDB lets one process write at a time.
LOCAL_INSTANCE_YAML = """\
concurrency:
  runs:
    max_concurrent_runs: 1
telemetry:
  enabled: false
"""
SCAN_TABLES = ("deals", "users", "pipelines", "pipeline_stages", "deal_properties")


def _prepare_environment(home: Path) -> None:
    """Local defaults for the demo: state under `home`, Dagster storage in SQLite there."""
    os.environ.setdefault("HUBSPOT_DEALS_HOME", str(home))
    dagster_home = Path(os.environ.setdefault("DAGSTER_HOME", str(home / "dagster_home")))
    dagster_home.mkdir(parents=True, exist_ok=True)
    instance_yaml = dagster_home / "dagster.yaml"
    if not instance_yaml.exists():
        instance_yaml.write_text(LOCAL_INSTANCE_YAML)
    from hubspot_deals.settings import get_settings

    get_settings.cache_clear()


def _table_counts(scan_id: str) -> dict[str, int]:
    from hubspot_deals.results import count_scan_rows

    return {t: count_scan_rows(t, scan_id) for t in SCAN_TABLES}


def cmd_demo(args: argparse.Namespace) -> int:
    _prepare_environment(Path(args.home).resolve())
    from dagster import DagsterInstance

    from hubspot_deals.launch import execute_scan, scan_run_config
    from hubspot_deals.sandbox.account import SandboxAccount
    from hubspot_deals.sandbox.process import SandboxServer
    from hubspot_deals.settings import get_settings

    token = "demo-" + secrets.token_hex(16)
    print(f"Starting the HubSpot sandbox: {args.deals} deals, seed {args.seed} ...", flush=True)
    with SandboxServer(deals=args.deals, seed=args.seed, tokens=[token]) as sandbox:
        os.environ["HUBSPOT_API_BASE_URL"] = sandbox.base_url
        get_settings.cache_clear()
        settings = get_settings()
        scan_id = args.scan_id or "demo-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        print(f"Sandbox at {sandbox.base_url}; scanning it as scan {scan_id!r} ...", flush=True)
        with DagsterInstance.get() as instance:
            outcome = execute_scan(
                instance,
                scan_id,
                scan_run_config("demo-org", access_token=token, include_archived=True),
            )
        if not outcome.success:
            print(f"Scan failed: {outcome.error}", file=sys.stderr)
            return 1
        counts = _table_counts(scan_id)
        account = SandboxAccount(seed=args.seed, deals=args.deals)
        expected = account.live_count + account.archived_count
    print()
    print(f"Scan {scan_id} completed in {outcome.seconds:.1f}s (Dagster run {outcome.run_id})")
    target = settings.duckdb_file if settings.destination == "duckdb" else "PostgreSQL"
    print(f"Loaded into {target}, dataset hubspot_deals_extraction:")
    for table, n in counts.items():
        print(f"  {table:<16} {n:>8} rows")
    rate = counts["deals"] / outcome.seconds if outcome.seconds else 0.0
    print(f"  deals/s          {rate:>8.0f}")
    ok = counts["deals"] == expected
    verdict = "equal to" if ok else "DIFFERENT FROM"
    print(
        f"Deals loaded {counts['deals']} {verdict} the sandbox's {expected} "
        f"({account.live_count} live + {account.archived_count} archived, seed {args.seed})"
    )
    print(f"Dagster storage: {os.environ['DAGSTER_HOME']}")
    return 0 if ok else 1


def cmd_scan(args: argparse.Namespace) -> int:
    from dagster import DagsterInstance

    from hubspot_deals.launch import execute_scan, scan_run_config

    token = os.environ.get("HUBSPOT_ACCESS_TOKEN") if not args.ask_token else getpass.getpass()
    run_config = scan_run_config(
        args.organization_id,
        access_token=token,
        properties=args.properties.split(",") if args.properties else None,
        include_archived=args.include_archived,
        start_date=args.start_date,
        end_date=args.end_date,
    )
    with DagsterInstance.get() as instance:
        outcome = execute_scan(instance, args.scan_id, run_config)
    if not outcome.success:
        print(f"Scan {args.scan_id} failed: {outcome.error}", file=sys.stderr)
        return 1
    if args.json:
        summary = {k: v for k, v in outcome.deals_metadata.items() if _plain(v)}
        print(json.dumps({"run_id": outcome.run_id, "seconds": outcome.seconds, **summary}))
        return 0
    print(f"Scan {args.scan_id} completed in {outcome.seconds:.1f}s (Dagster run {outcome.run_id})")
    for table, n in _table_counts(args.scan_id).items():
        print(f"  {table:<16} {n:>8} rows")
    return 0


def _plain(value: object) -> bool:
    return isinstance(value, str | int | float | bool | list | dict) or value is None


def cmd_encrypt_token(args: argparse.Namespace) -> int:
    from hubspot_deals.crypto import TokenCipher

    token = sys.stdin.readline().strip() if not sys.stdin.isatty() else getpass.getpass("Token: ")
    if len(token) < 10:
        print("a HubSpot token has at least 10 characters", file=sys.stderr)
        return 2
    print(TokenCipher.from_settings().encrypt(token))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sandbox"]:
        from hubspot_deals.sandbox.cli import main as sandbox_main

        return sandbox_main(argv[1:])
    if argv[:1] == ["api"]:
        from api_shim.main import main as api_main

        return api_main(argv[1:])
    parser = argparse.ArgumentParser(prog="hubspot-deals", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="start the sandbox and run a scan of it through Dagster")
    demo.add_argument("--deals", type=int, default=10_000)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--scan-id", default=None)
    demo.add_argument("--home", default=".hubspot_deals", help="local state folder")
    demo.set_defaults(func=cmd_demo)

    scan = sub.add_parser("scan", help="run one scan now (HUBSPOT_* settings from the env)")
    scan.add_argument("scan_id")
    scan.add_argument("--organization-id", default="default")
    scan.add_argument("--properties", default=None, help="comma-separated; all by default")
    scan.add_argument("--include-archived", action="store_true")
    scan.add_argument("--start-date", default=None, help="YYYY-MM-DD, on createdate")
    scan.add_argument("--end-date", default=None, help="YYYY-MM-DD, inclusive")
    scan.add_argument("--ask-token", action="store_true", help="prompt instead of the env")
    scan.add_argument("--json", action="store_true", help="print a JSON summary line")
    scan.set_defaults(func=cmd_scan)

    enc = sub.add_parser("encrypt-token", help="encrypt a token (stdin) for scan run config")
    enc.set_defaults(func=cmd_encrypt_token)

    sub.add_parser("sandbox", help="start the HubSpot sandbox (see: hubspot-deals sandbox -h)")
    sub.add_parser("api", help="serve the REST scan API (see: hubspot-deals api -h)")
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
