"""`hubspot-deals`: the quick-start demo, one-off scans, token encryption and the sandbox."""

import argparse
import getpass
import importlib.util
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from hubspot_deals.scan import demo_scan_id

# The embedded default instance: SQLite storage under DAGSTER_HOME, and one run at a time,
# because DuckDB lets one process write at a time.
LOCAL_INSTANCE_YAML = """\
concurrency:
  runs:
    max_concurrent_runs: 1
telemetry:
  enabled: false
"""


DEFAULT_HOME = ".hubspot_deals"


def _prepare_environment(home: Path) -> None:
    """Local defaults of the demo and of one-off scans: state under `home` (unless
    HUBSPOT_DEALS_HOME says otherwise), Dagster storage in SQLite there (unless DAGSTER_HOME
    does), so a scan from the CLI lands in the demo's instance and DuckDB file."""
    home = Path(os.environ.setdefault("HUBSPOT_DEALS_HOME", str(home)))
    dagster_home = Path(os.environ.setdefault("DAGSTER_HOME", str(home / "dagster_home")))
    dagster_home.mkdir(parents=True, exist_ok=True)
    instance_yaml = dagster_home / "dagster.yaml"
    if not instance_yaml.exists():
        instance_yaml.write_text(LOCAL_INSTANCE_YAML)
    from hubspot_deals.settings import get_settings

    get_settings.cache_clear()


def _table_counts(scan_id: str) -> dict[str, int]:
    from hubspot_deals.load.names import SCAN_TABLES
    from hubspot_deals.load.reads import count_scan_rows

    return {t: count_scan_rows(t, scan_id) for t in SCAN_TABLES}


def _stop_on_sigterm() -> None:
    """`kill <pid>` stops the demo as Ctrl-C does: the stack's processes stop with it."""

    def interrupt(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the clean-up
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def cmd_demo(args: argparse.Namespace) -> int:
    """The quick start: the whole stack on the embedded defaults, and one scan through the API."""
    _stop_on_sigterm()
    began = time.monotonic()

    def phase(message: str) -> None:
        print(f"[{time.monotonic() - began:4.0f}s] {message}", flush=True)

    home = Path(args.home).resolve()
    _prepare_environment(home)
    import requests

    from hubspot_deals.stack import dagster_dev, port_or_free, rest_api
    from hubspot_sandbox.process import SandboxServer

    token = "demo-" + secrets.token_hex(16)
    dagster_port = port_or_free(args.dagster_port)
    api_port = port_or_free(args.api_port)
    phase(f"Starting the HubSpot sandbox: {args.deals} deals, seed {args.seed} ...")
    with SandboxServer(deals=args.deals, seed=args.seed, tokens=[token]) as sandbox:
        account = sandbox.account()
        env = {
            **os.environ,
            "HUBSPOT_API_BASE_URL": sandbox.base_url,
            "HUBSPOT_DEALS_API_DAGSTER_GRAPHQL_URL": f"http://127.0.0.1:{dagster_port}/graphql",
        }
        logs = home / "logs"
        dagster = dagster_dev(dagster_port, env, logs / "dagster.log")
        api = rest_api(api_port, env, logs / "api.log", open_access=True)
        try:
            dagster_url = f"http://127.0.0.1:{dagster_port}"
            api_url = f"http://127.0.0.1:{api_port}/api/v1"
            phase(f"Starting Dagster (webserver, daemon, code location) on {dagster_url} and the "
                  f"REST API on {api_url}; their logs: {logs}")  # fmt: skip
            dagster.start()
            api.start()
            for name, process, url, ok in (
                ("Dagster's webserver", dagster, dagster_url + "/server_info", 500),
                ("the REST API", api, api_url + "/health", 300),
            ):
                phase(f"Waiting for {name} ({url}) ...")
                try:
                    process.wait_http(url, timeout=180, ok=ok)
                except (TimeoutError, RuntimeError):
                    print(f"error: {name} did not come up; its log: {process.log_path}",
                          file=sys.stderr)  # fmt: skip
                    return 1
            scan_id = args.scan_id or demo_scan_id(datetime.now(UTC))
            config = {
                "scanId": scan_id,
                "organizationId": "demo-org",
                "type": ["user"],
                "auth": {"accessToken": token},
                "filters": {"includeArchived": True},
            }
            started = time.monotonic()
            resp = requests.post(api_url + "/scan/start", json={"config": config}, timeout=60)
            if resp.status_code != 202:
                print(f"Starting the scan failed: {resp.status_code} {resp.text}", file=sys.stderr)
                return 1
            phase(f"Scan {scan_id!r} started through POST {api_url}/scan/start")
            status = _follow_scan(api_url, scan_id)
            seconds = time.monotonic() - started
            print()
            if status["status"] != "completed":
                print(f"Scan {status['status']}: {status.get('errorMessage')}", file=sys.stderr)
                return 1
            tables = requests.get(f"{api_url}/results/{scan_id}/tables", timeout=60).json()
            counts = {t["name"]: t["rowCount"] for t in tables["data"]["tables"]}
            expected = account.live_count + account.archived_count
            print(f"Scan {scan_id} completed in {seconds:.1f}s; loaded into {_target()}:")
            for table, n in counts.items():
                print(f"  {table:<16} {n:>8} rows")
            deals = counts.get("deals", 0)
            print(f"  deals/s end to end {deals / seconds:>8,.0f}  (from the POST to completed: "
                  "the run's start-up included)")  # fmt: skip
            reading = _deal_loop_seconds(scan_id)
            if reading:
                print(f"  deals/s reading    {deals / reading:>8,.0f}  (the scan's deal loop, "
                      f"{reading:.1f}s: reading HubSpot and loading)")  # fmt: skip
            ok = deals == expected
            verdict = "equal to" if ok else "DIFFERENT FROM"
            print(
                f"Deals loaded {deals} {verdict} the sandbox's {expected} "
                f"({account.live_count} live + {account.archived_count} archived, "
                f"seed {args.seed})"
            )
            print()
            print(f"Dagster UI     {dagster_url}")
            print(f"REST API docs  {api_url}/docs")
            print(f"Results        {api_url}/results/{scan_id}/result?tableName=deals")
            print(f"HubSpot sandbox {sandbox.base_url} (token {token})")
            print("Another scan through the REST API:")
            again = json.dumps({"config": {**config, "scanId": f"{scan_id}-2"}})
            print(f"  curl -s -X POST {api_url}/scan/start -H 'Content-Type: application/json' "
                  f"-d '{again}'")  # fmt: skip
            if not ok:
                return 1
            if args.no_serve:
                return 0
            print("Serving until interrupted (Ctrl-C or kill).", flush=True)
            try:
                while dagster.proc.poll() is None and api.proc.poll() is None:
                    time.sleep(1)
            except KeyboardInterrupt:
                print("\nStopping ...", flush=True)
            return 0
        finally:
            api.stop()
            dagster.stop()


def _deal_loop_seconds(scan_id: str) -> float | None:
    """How long the scan's deals asset spent in its deal loop (its `duration_seconds`)."""
    from dagster import AssetRecordsFilter, DagsterInstance

    from hubspot_deals.defs.assets import DEALS_KEY

    with DagsterInstance.get() as instance:
        records = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=DEALS_KEY, asset_partitions=[scan_id]), limit=1
        ).records
    if not records or records[0].asset_materialization is None:
        return None
    value = records[0].asset_materialization.metadata.get("duration_seconds")
    return float(value.value) if value is not None else None


def _target() -> str:
    from hubspot_deals.settings import get_settings

    settings = get_settings()
    if settings.destination == "duckdb":
        return f"{settings.duckdb_file} (dataset hubspot_deals_extraction)"
    return "PostgreSQL (dataset hubspot_deals_extraction)"


def _follow_scan(api_url: str, scan_id: str, timeout: float = 3600.0) -> dict:
    """Polls the scan's status, printing its progress, until it ends."""
    import requests

    deadline = time.monotonic() + timeout
    data: dict = {}
    shown = ""
    tty = sys.stdout.isatty()
    while time.monotonic() < deadline:
        data = requests.get(f"{api_url}/scan/{scan_id}/status", timeout=60).json()["data"]
        progress = (data.get("checkpointInfo") or {}).get("progress") or 0
        line = (
            f"  {data['status']:<10} {progress:5.1f}%  {data.get('recordsExtracted') or 0:>9,} "
            "deals extracted"
        )
        if line != shown:
            print(("\r" + line) if tty else line, end="" if tty else "\n", flush=True)
            shown = line
        if data["status"] in ("completed", "failed", "cancelled", "crashed", "paused"):
            return data
        time.sleep(1)
    return data


def cmd_scan(args: argparse.Namespace) -> int:
    from hubspot_deals.source.memory import LEAN_ENV, lean_environment

    if any(key not in os.environ for key in LEAN_ENV):
        # Start again with the lean allocator settings from the first allocation, as a run
        # worker that Dagster starts from a code server does (hubspot_deals.source.memory).
        os.environ.update(lean_environment())
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])

    _prepare_environment(Path(args.home).resolve())
    from dagster import DagsterInstance

    from hubspot_deals.defs.launch import execute_scan
    from hubspot_deals.scan import scan_run_config

    token = os.environ.get("HUBSPOT_ACCESS_TOKEN") if not args.ask_token else getpass.getpass()
    run_config = scan_run_config(
        args.organization_id,
        access_token=token,
        properties=args.properties.split(",") if args.properties else None,
        include_archived=args.include_archived,
        start_date=args.start_date,
        end_date=args.end_date,
        pipeline=args.pipeline,
    )
    with DagsterInstance.get() as instance:
        # Dagster's console would print a failed step's stack trace: the CLI says the run's
        # warnings and its failure's cause in a line each; the full log is in the instance.
        outcome = execute_scan(instance, args.scan_id, run_config, console_log_level="CRITICAL")
    for warning in outcome.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not outcome.success:
        cause = " ".join((outcome.error or "").split())  # a database's error spans lines
        print(f"Scan {args.scan_id} failed: {cause}", file=sys.stderr)
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


# An interactive check: a HubSpot that does not answer is reported after a few tries.
DOCTOR_MAX_ATTEMPTS = 3


def cmd_doctor(args: argparse.Namespace) -> int:
    """Checks a HubSpot token the way a scan will use it; the token is never printed."""
    from hubspot_deals.settings import get_settings
    from hubspot_deals.source.client import HubSpotClient
    from hubspot_deals.source.connection import (
        NEEDED_SCOPES,
        check_connection,
        missing_scopes_message,
    )
    from hubspot_deals.source.errors import HubSpotError

    settings = get_settings()
    token = args.token or (settings.access_token and settings.access_token.get_secret_value())
    if not token and sys.stdin.isatty():
        token = getpass.getpass("HubSpot access token: ").strip()
    if not token:
        print("error: no token: set HUBSPOT_ACCESS_TOKEN or pass --token", file=sys.stderr)
        return 2
    client = HubSpotClient(
        token,
        settings.api_base_url,
        max_attempts=min(settings.max_attempts, DOCTOR_MAX_ATTEMPTS),
        timeout=settings.http_timeout_seconds,
    )
    print(f"HubSpot         {settings.api_base_url}")
    try:
        report = check_connection(client, token)
    except HubSpotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    app = f" (app {report.app_id})" if report.app_id else ""
    print(f"token           valid: {report.token_kind}{app}")
    print(f"portal          {report.portal_id}")
    for scope in NEEDED_SCOPES:
        print(f"scope           {scope:<28} {'granted' if scope in report.scopes else 'MISSING'}")
    others = [s for s in report.scopes if s not in NEEDED_SCOPES]
    if others:
        print(f"other scopes    {', '.join(others)}")
    if report.missing_scopes:
        print(f"error: {missing_scopes_message(report.missing_scopes)}", file=sys.stderr)
        return 1
    print(f"deals           {report.deals:,} (live; archived ones are not counted)")
    limit = report.rate_limit
    if limit:
        daily = f"; {limit['daily']:,} a day, {limit['daily_remaining']:,} left" if (
            "daily" in limit) else ""  # fmt: skip
        print(f"rate limit      {limit['max']:,} requests per {limit['interval_ms'] / 1000:g} s"
              f"{daily}")  # fmt: skip
    seconds, pace = report.full_scan_seconds, report.deals_per_second
    if seconds is not None and pace is not None:
        source = "measured at this limit" if report.pace_measured else "estimated from those"
        print(f"full scan       about {_duration(seconds)} at {pace:,.0f} deals/s ({source} "
              "in docs/benchmarks.md)")  # fmt: skip
    return 0


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def cmd_encrypt_token(args: argparse.Namespace) -> int:
    from hubspot_deals.crypto import TokenCipher

    token = sys.stdin.readline().strip() if not sys.stdin.isatty() else getpass.getpass("Token: ")
    if len(token) < 10:
        print("a HubSpot token has at least 10 characters", file=sys.stderr)
        return 2
    print(TokenCipher.from_settings().encrypt(token))
    return 0


def _invalid_settings(exc: ValidationError) -> str:
    """A settings object's validation error as one line naming the environment variables."""
    from api_shim.settings import ApiSettings
    from hubspot_deals.settings import Settings

    model = {"Settings": Settings, "ApiSettings": ApiSettings}.get(exc.title)
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        variable = name
        if model is not None and name in model.model_fields:
            alias = model.model_fields[name].validation_alias
            choices = getattr(alias, "choices", None)
            prefix = model.model_config.get("env_prefix", "")
            variable = str(choices[0]) if choices else (prefix + name).upper()
        value = error.get("input")
        shown = f" (is {value!r})" if isinstance(value, str) and "SECRET" not in variable else ""
        problems.append(f"{variable}{shown}: {error['msg']}")
    return "invalid setting " + "; ".join(problems)


def _run(command: Callable[[], int]) -> int:
    """Runs a command; a setting it cannot use ends it with one line on stderr, not a
    traceback (a bug in the code still shows one)."""
    from hubspot_deals.crypto import EncryptionKeyError

    try:
        return command()
    except KeyboardInterrupt:  # Ctrl-C, or the demo's SIGTERM, before it serves
        print("Stopped.", file=sys.stderr)
        return 130
    except ValidationError as exc:
        print(f"error: {_invalid_settings(exc)}", file=sys.stderr)
    except EncryptionKeyError as exc:
        print(f"error: {exc}", file=sys.stderr)
    return 2


# What a command needs beyond the base install (the dlt source and the load layer): the extra of
# pyproject.toml that installs it, what that is, and the modules it must find.
COMMAND_EXTRAS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "demo": (
        "all",
        "Dagster, the REST API and the sandbox",
        ("dagster", "dagster_webserver", "dagster_dlt", "fastapi", "uvicorn"),
    ),
    "scan": ("dagster", "Dagster", ("dagster", "dagster_dlt")),
    "api": ("api", "the REST API's packages", ("fastapi", "uvicorn")),
    "sandbox": ("sandbox", "the sandbox's server", ("uvicorn",)),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package that is missing, or an import hook refusing it
        return False


def missing_extra(command: str) -> str | None:
    """The line that tells how to install what `command` needs, when some of it is missing:
    the base install has no Dagster, FastAPI or uvicorn, and a traceback would not say so."""
    extra, what, modules = COMMAND_EXTRAS.get(command, ("", "", ()))
    missing = [m for m in modules if not _installed(m)]
    if not missing:
        return None
    return (
        f"hubspot-deals {command} needs {what}, which is not installed (no "
        f"{', '.join(missing)}): pip install 'hubspot-deals[{extra}]'"
    )


def _needs_extra(command: str) -> bool:
    message = missing_extra(command)
    if message is not None:
        print(f"error: {message}", file=sys.stderr)
    return message is not None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["sandbox"], ["api"]) and _needs_extra(argv[0]):
        return 2
    if argv[:1] == ["sandbox"]:
        from hubspot_sandbox.cli import main as sandbox_main

        return _run(lambda: sandbox_main(argv[1:]))
    if argv[:1] == ["api"]:
        from api_shim.main import main as api_main

        return _run(lambda: api_main(argv[1:]))
    parser = argparse.ArgumentParser(prog="hubspot-deals", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="the whole stack on the sandbox, and a scan of it through the REST API"
    )
    demo.add_argument("--deals", type=int, default=10_000)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--scan-id", default=None)
    demo.add_argument("--home", default=DEFAULT_HOME, help="local state folder")
    demo.add_argument("--dagster-port", type=int, default=3000)
    demo.add_argument("--api-port", type=int, default=5000)
    demo.add_argument(
        "--no-serve", action="store_true", help="stop after the scan instead of serving"
    )
    demo.set_defaults(func=cmd_demo)

    scan = sub.add_parser("scan", help="run one scan now (HUBSPOT_* settings from the env)")
    scan.add_argument("scan_id")
    scan.add_argument("--organization-id", default="default")
    scan.add_argument("--properties", default=None, help="comma-separated; all by default")
    scan.add_argument("--include-archived", action="store_true")
    scan.add_argument("--start-date", default=None, help="YYYY-MM-DD, on createdate")
    scan.add_argument("--end-date", default=None, help="YYYY-MM-DD, inclusive")
    scan.add_argument("--pipeline", default=None, help="only this pipeline's deals (its id)")
    scan.add_argument("--ask-token", action="store_true", help="prompt instead of the env")
    scan.add_argument("--json", action="store_true", help="print a JSON summary line")
    scan.add_argument(
        "--home",
        default=DEFAULT_HOME,
        help="local state folder, as the demo's, when HUBSPOT_DEALS_HOME and DAGSTER_HOME "
        "are unset",
    )
    scan.set_defaults(func=cmd_scan)

    doctor = sub.add_parser(
        "doctor",
        help="check a HubSpot token: valid, portal, scopes, deal count, rate limit, scan time",
    )
    doctor.add_argument(
        "--token",
        default=None,
        help="the token (visible to other users in the process list: prefer "
        "HUBSPOT_ACCESS_TOKEN, or the prompt you get without either)",
    )
    doctor.set_defaults(func=cmd_doctor)

    enc = sub.add_parser("encrypt-token", help="encrypt a token (stdin) for scan run config")
    enc.set_defaults(func=cmd_encrypt_token)

    sub.add_parser("sandbox", help="start the HubSpot sandbox (see: hubspot-deals sandbox -h)")
    sub.add_parser("api", help="serve the REST scan API (see: hubspot-deals api -h)")
    args = parser.parse_args(argv)
    if _needs_extra(args.command):
        return 2
    return _run(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
