"""Benchmark: every extraction figure of the performance issue, from one run.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/scan_bench.py            # everything, 1,000,000 deals included
    .venv/bin/python bench/scan_bench.py --quick    # 20,000 deals, no scale series

Against the HubSpot sandbox (77 deal properties, 60 of them custom, unless said otherwise):

1. the bare loop: GET list pages of 100 with every property, JSON-decode, discard;
2. full scans end to end (sandbox -> typed tables) into DuckDB and PostgreSQL, all properties
   and 8, taking turns with the bare loop (medians of --repeat runs, 3 by default), with
   deals/s, their share of the bare loop, requests per 1,000 deals, and the peak resident
   memory of the scan's process and of its deal reader process;
3. throttled scans (the sandbox enforcing a private app's 100 and 190 requests per 10 s, and
   search's 5 per second) on both search-bucket models (search in a bucket of its own, or
   counted in the ten-secondly bucket too), against the list API's ceiling and each model's
   list+search ceiling;
4. requests per 1,000 deals and the read strategy chosen for 8, 72 and 400 properties;
5. deals/s and peak memory against deal count (10k, 100k, 1M), plotted;
6. the REST API's latency (`bench/shim_bench.py`, unless --no-shim);
7. with --peers, Meltano's and Airbyte's HubSpot extractors beside the bare loop and the
   project (`bench/peers.py`): deals/s end to end and the peak memory of each process tree.

`--parts` runs some of these alone (e.g. `--parts throttled`).

Each scan runs in its own process (`hubspot-deals scan`), so memory is the scan's alone. Writes
`bench/results/latest.json` and `bench/results/scale.png`. Not a test: the machine's load
average is printed next to the figures.
"""

import argparse
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson
import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import peers  # noqa: E402

from hubspot_sandbox.process import SandboxServer  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = REPO / "bench" / "results"
# A database of the benchmark's own: the test suite drops its schemas in the `test` database.
PG_SERVER = os.environ.get("BENCH_POSTGRES_SERVER", "postgresql://postgres@127.0.0.1:5432")
PG_DATABASE = "hubspot_deals_bench"
PG_DSN = f"{PG_SERVER}/{PG_DATABASE}"
EIGHT = "dealname,amount,closedate,pipeline,dealstage,createdate,hs_lastmodifieddate,hs_object_id"
STANDARD_PROPERTIES = 17  # the sandbox's HubSpot-defined deal properties
LIST_PAGE, SEARCH_PAGE, SEARCH_PER_SECOND = 100, 200, 5
PARTS = ("scans", "throttled", "requests", "scale", "shim", "peers")


def ceilings(limit: int, bucket: str) -> tuple[float, float]:
    """Deals/s a token allows by list alone and by list plus search, for a ten-secondly limit
    and a search-bucket model: where search shares the ten-secondly bucket, each search takes a
    list request's place (with 200 deals instead of 100)."""
    burst = limit / 10
    search = min(SEARCH_PER_SECOND, burst) if bucket == "shared" else SEARCH_PER_SECOND
    listed = burst - search if bucket == "shared" else burst
    return burst * LIST_PAGE, listed * LIST_PAGE + search * SEARCH_PAGE


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def ensure_postgres_database() -> None:
    import psycopg2

    conn = psycopg2.connect(f"{PG_SERVER}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,))
        if cur.fetchone() is None:
            cur.execute(f"CREATE DATABASE {PG_DATABASE}")
        conn.close()


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def bare_loop(base_url: str, token: str) -> float:
    """The floor: GET list pages of 100 with every property, decode, discard. Deals/s."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    defs = session.get(base_url + "/crm/v3/properties/deals", timeout=30).json()["results"]
    params: dict = {"limit": LIST_PAGE, "properties": ",".join(d["name"] for d in defs)}
    deals, started = 0, time.perf_counter()
    while True:
        body = orjson.loads(session.get(base_url + "/crm/v3/objects/deals", params=params).content)
        deals += len(body["results"])
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            break
        params["after"] = after
    return deals / (time.perf_counter() - started)


class MemoryWatch:
    """Samples the resident memory of a process and of its children (the deal reader)."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.every = every
        self.scan_mb = self.reader_mb = self.together_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                scan = self.process.memory_info().rss / 2**20
                children = self.process.children(recursive=True)
                reader = sum(c.memory_info().rss for c in children) / 2**20
            except psutil.Error:
                return
            self.scan_mb = max(self.scan_mb, scan)
            self.reader_mb = max(self.reader_mb, reader)
            self.together_mb = max(self.together_mb, scan + reader)
            time.sleep(self.every)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_scan(env: dict, scan_id: str, properties: str | None) -> dict:
    """One scan in a child process; returns its metadata, wall time and peak memory."""
    args = [str(BIN / "hubspot-deals"), "scan", scan_id, "--organization-id", "bench", "--json"]
    if properties:
        args += ["--properties", properties]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=err, cwd=REPO)
        watch = MemoryWatch(proc.pid)
        # wait4: this child's own peak RSS, exact (sampling can miss a short peak).
        _, status, usage = os.wait4(proc.pid, 0)
        watch.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"scan failed:\n{stdout[-2000:]}\n{stderr[-4000:]}")
    meta = json.loads(stdout.strip().splitlines()[-1])
    meta.update(
        wall_seconds=wall,
        peak_rss_mb=max(usage.ru_maxrss / 1024, watch.scan_mb),
        reader_peak_rss_mb=watch.reader_mb,
        together_peak_rss_mb=watch.together_mb,
    )
    return meta


class Bench:
    def __init__(self, home: Path, token: str) -> None:
        self.home = home
        self.token = token
        self.rows: list[dict] = []

    def scan(
        self, name: str, sandbox: SandboxServer, destination: str = "duckdb",
        properties: str | None = None, extra_env: dict | None = None, **extra: object,
    ) -> dict:  # fmt: skip
        sandbox.reset_stats()
        load = load_average()
        result = self.run(name, sandbox, destination, properties, extra_env)
        stats = requests.get(sandbox.url("/__sandbox/stats"), timeout=10).json()
        n = result["deals_extracted"]
        live = sandbox.account().live_count
        if n != live:
            raise RuntimeError(f"{name}: loaded {n} deals, expected {live}")
        row = {
            "scenario": name,
            "destination": destination,
            "deals": n,
            "deals_per_s": n / result["duration_seconds"],
            "deals_per_s_wall": n / result["wall_seconds"],
            "requests_per_1000": stats["requestsTotal"] * 1000 / n,
            "refused_414": sum(c.get("414", 0) for c in stats["requests"].values()),
            "rate_limited": sum(stats["rateLimited"].values()),
            "read_strategy": result.get("read_strategy"),
            "peak_rss_mb": result["peak_rss_mb"],
            "reader_peak_rss_mb": result["reader_peak_rss_mb"],
            "together_peak_rss_mb": result["together_peak_rss_mb"],
            "scan_seconds": result["duration_seconds"],
            "wall_seconds": result["wall_seconds"],
            "load_average": load,
            **extra,
        }
        self.rows.append(row)
        print(json.dumps(row), flush=True)
        return row

    def run(
        self, name: str, sandbox: SandboxServer, destination: str = "duckdb",
        properties: str | None = None, extra_env: dict | None = None,
    ) -> dict:  # fmt: skip
        """One scan's process; its metadata, wall time and peak memory."""
        # Each scan loads into a DuckDB file of its own (schema changes of a wide shared table
        # would be measured too), then the file is deleted.
        scan_home = self.home / name
        env = {
            **os.environ,
            "HUBSPOT_API_BASE_URL": sandbox.base_url,
            "HUBSPOT_ACCESS_TOKEN": self.token,
            "HUBSPOT_DEALS_HOME": str(scan_home),
            "DAGSTER_HOME": str(self.home / "dagster_home"),
            "HUBSPOT_DEALS_DESTINATION": destination,
            "HUBSPOT_DEALS_POSTGRES_DSN": PG_DSN,
            **(extra_env or {}),
        }
        try:
            return run_scan(env, f"bench-{name}-{secrets.token_hex(3)}", properties)
        finally:
            shutil.rmtree(scan_home, ignore_errors=True)

    def median_of(self, name: str, runs: list[dict]) -> dict:
        """One row for repeated runs of a scenario: the median run's figures, the highest peak
        memory of all, and every run's deals/s."""
        for row in runs:
            self.rows.remove(row)
        rates = [r["deals_per_s"] for r in runs]
        row = {**sorted(runs, key=lambda r: r["deals_per_s"])[len(runs) // 2], "scenario": name}
        row.update(
            deals_per_s=statistics.median(rates),
            runs_deals_per_s=rates,
            peak_rss_mb=max(r["peak_rss_mb"] for r in runs),
            reader_peak_rss_mb=max(r["reader_peak_rss_mb"] for r in runs),
            together_peak_rss_mb=max(r["together_peak_rss_mb"] for r in runs),
        )
        self.rows.append(row)
        return row


def sandbox(deals: int, token: str, **options: object) -> SandboxServer:
    options.setdefault("custom_properties", 60)
    return SandboxServer(deals=deals, seed=1, tokens=[token], startup_timeout=300, **options)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--scale", default="10000,100000,1000000", help="deal counts ('' none)")
    parser.add_argument("--throttle", default="100,190", help="burst limits per 10 s ('' none)")
    parser.add_argument("--requests-deals", type=int, default=20_000)
    parser.add_argument("--only", choices=("duckdb", "postgres"), default=None)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of the bare loop and unthrottled scans"
    )
    parser.add_argument("--quick", action="store_true", help="20,000 deals, no scale series")
    parser.add_argument("--output", default=str(RESULTS / "latest.json"))
    parser.add_argument("--no-shim", action="store_true", help="skip the REST API's latency")
    parser.add_argument(
        "--parts", default="scans,throttled,requests,scale,shim",
        help=f"comma-separated parts to run, of {','.join(PARTS)}",
    )  # fmt: skip
    parser.add_argument(
        "--bucket-models", default="separate,shared",
        help="search-bucket models of the throttled scans (separate, shared)",
    )  # fmt: skip
    parser.add_argument(
        "--peers", action="store_true",
        help="also run Meltano's and Airbyte's HubSpot extractors (installed into virtualenvs "
        "of their own under --peers-dir)",
    )  # fmt: skip
    parser.add_argument("--peers-dir", default=str(peers.DEFAULT_DIR))
    parser.add_argument("--peer-deals", type=int, default=20_000)
    parser.add_argument(
        "--peer-custom-properties", type=int, default=55, help="55 custom + 17 standard = 72"
    )
    parser.add_argument(
        "--from-json", default=None, help="only print the report, table and plot of a saved run"
    )
    args = parser.parse_args()
    if args.from_json:
        figures = json.loads(Path(args.from_json).read_text())
        finish(figures, Path(args.from_json))
        return 0
    if args.quick:
        args.deals, args.scale, args.requests_deals, args.repeat = 20_000, "", 10_000, 1
    parts = {p for p in args.parts.split(",") if p}
    if unknown := parts - set(PARTS):
        parser.error(f"unknown parts {sorted(unknown)}; known: {', '.join(PARTS)}")
    if args.peers:
        parts.add("peers")
    if args.no_shim:
        parts.discard("shim")
    if "scale" not in parts:
        args.scale = ""

    token = "bench-" + secrets.token_hex(16)
    destinations = [args.only] if args.only else ["duckdb", "postgres"]
    if "postgres" in destinations and "scans" in parts:
        ensure_postgres_database()
    started_load = load_average()
    print(f"machine: {machine()}, load average {started_load}", flush=True)
    with tempfile.TemporaryDirectory(prefix="hubspot-deals-bench-") as tmp:
        home = Path(tmp)
        (home / "dagster_home").mkdir()
        (home / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        bench = Bench(home, token)

        bare: float | None = None
        bare_runs: list[float] = []
        if "scans" in parts:
            bare_runs, bare = unthrottled_scans(bench, args, token, destinations)

        if "throttled" in parts:
            models = [m for m in args.bucket_models.split(",") if m]
            for limit in [int(x) for x in args.throttle.split(",") if x]:
                for model in models:
                    list_ceiling, both_ceiling = ceilings(limit, model)
                    suffix = "" if model == "separate" else f"-{model}"
                    with sandbox(args.deals, token, rate_limit=limit, search_bucket=model) as sb:
                        row = bench.scan(
                            f"throttled-{limit}{suffix}", sb, destinations[0], None,
                            list_ceiling=list_ceiling, list_search_ceiling=both_ceiling,
                            search_bucket=model,
                        )  # fmt: skip
                    row["vs_list_ceiling"] = row["deals_per_s"] / list_ceiling
                    row["vs_list_search_ceiling"] = row["deals_per_s"] / both_ceiling

        if "requests" in parts:
            for throttle in (100, 0):
                for label, custom, props in (
                    ("8", 60, EIGHT), ("72", 55, None), ("400", 383, None),
                ):  # fmt: skip
                    with sandbox(args.requests_deals, token, custom_properties=custom,
                                 rate_limit=throttle) as sb:  # fmt: skip
                        name = f"requests-{label}-{'throttled' if throttle else 'unthrottled'}"
                        # DuckDB's `auto` memory limit follows the width (400 properties: 245 MB).
                        bench.scan(name, sb, destinations[0], props, property_count=int(label))

        for deals in [int(x) for x in args.scale.split(",") if x]:
            with sandbox(deals, token) as sb:
                bench.scan(f"scale-{deals}", sb, destinations[0], None, scale=deals)

        peer_figures = run_peers(bench, args, token) if "peers" in parts else None

    figures = {
        "machine": machine(),
        "load_average": {"start": started_load, "end": load_average()},
        "deals": args.deals,
        "bare_loop": bare,
        "bare_loop_runs": bare_runs,
        "rows": bench.rows,
    }
    if peer_figures:
        figures["peers"] = peer_figures
    if "shim" in parts:
        shim_output = Path(args.output).with_name("shim.json")
        command = [
            sys.executable,
            str(REPO / "bench" / "shim_bench.py"),
            "--output",
            str(shim_output),
        ]
        if args.only:
            command += ["--only", args.only]
        subprocess.run(command, check=True)
        figures["shim"] = json.loads(shim_output.read_text())
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(figures, indent=2) + "\n")
    finish(figures, Path(args.output))
    return 0


def unthrottled_scans(
    bench: Bench, args: argparse.Namespace, token: str, destinations: list[str]
) -> tuple[list[float], float]:
    """The bare loop and the unthrottled scans, taking turns (the machine's speed drifts): each
    figure is the median of its runs."""
    with sandbox(args.deals, token) as sb:
        bare_loop(sb.base_url, token)  # warms the sandbox's page cache
        bare_runs: list[float] = []
        runs: dict[str, list[dict]] = {name: [] for name in (*destinations, "8")}
        for n in range(args.repeat):
            bare_runs.append(bare_loop(sb.base_url, token))
            print(f"bare loop, all properties: {bare_runs[-1]:,.0f} deals/s", flush=True)
            for dest in destinations:
                runs[dest].append(bench.scan(f"{dest}-all-{n + 1}", sb, dest, None))
            runs["8"].append(bench.scan(f"duckdb-8-{n + 1}", sb, destinations[0], EIGHT))
        bare = statistics.median(bare_runs)
        for dest in destinations:
            row = bench.median_of(f"{dest}-all", runs[dest])
            row["vs_bare_loop"] = row["deals_per_s"] / bare
        bench.median_of("duckdb-8", runs["8"])
    return bare_runs, bare


def run_peers(bench: Bench, args: argparse.Namespace, token: str) -> dict | None:
    """The bare loop, the project and each installed peer, taking turns on one sandbox."""
    root = Path(args.peers_dir)
    root.mkdir(parents=True, exist_ok=True)
    installed = {p: python for p in peers.PEERS if (python := peers.install(p, root))}
    project = "hubspot-deals (into DuckDB)"
    runs: dict[str, list[dict]] = {project: [], **{p.label: [] for p in installed}}
    bare_runs: list[float] = []
    properties = STANDARD_PROPERTIES + args.peer_custom_properties
    with sandbox(args.peer_deals, token, custom_properties=args.peer_custom_properties) as sb:
        live = sb.account().live_count
        bare_loop(sb.base_url, token)  # warms the sandbox's page cache
        for n in range(args.repeat):
            bare_runs.append(bare_loop(sb.base_url, token))
            result = bench.run(f"peers-project-{n + 1}", sb)
            runs[project].append(
                {
                    "deals": result["deals_extracted"],
                    "wall_seconds": result["wall_seconds"],
                    "peak_rss_mb": result["together_peak_rss_mb"],
                }
            )
            for peer, python in installed.items():
                if peer.label not in runs:
                    continue  # it failed before
                try:
                    runs[peer.label].append(peers.run_peer(peer, python, sb.base_url, token))
                except RuntimeError as exc:
                    print(f"{peer.label} failed; left out: {exc}", flush=True)
                    del runs[peer.label]
            for name, results in runs.items():
                if results and results[-1]["deals"] != live:
                    print(f"{name} delivered {results[-1]['deals']:,} of {live:,} live deals")
                if results:
                    r = results[-1]
                    print(
                        f"{name}: {r['deals'] / r['wall_seconds']:,.0f} deals/s end to end, "
                        f"peak RSS {r['peak_rss_mb']:.0f} MB",
                        flush=True,
                    )
    rows = peers.side_by_side({k: v for k, v in runs.items() if v}, bare_runs, project)
    return {"deals": args.peer_deals, "live": live, "properties": properties, "rows": rows}


def finish(figures: dict, output: Path) -> None:
    report(figures)
    output.with_suffix(".md").write_text(markdown(figures))
    print(f"table for the README: {output.with_suffix('.md')}")
    plot(figures["rows"], output.with_name("scale.png"), figures["machine"])


def markdown(figures: dict) -> str:
    """The README's table of the run."""
    m = figures["machine"]
    bare = ""
    if figures.get("bare_loop"):
        bare = (
            f" Bare fetch-and-decode loop: {figures['bare_loop']:,.0f} deals/s"
            f"{runs_text(figures.get('bare_loop_runs'))}."
        )
    lines = [
        f"{m['cpus']} x {m['cpu_model']}, {m['memory_gb']} GB, Python {m['python']}; load average"
        f" {figures['load_average']['start']} at the start, {figures['load_average']['end']} at"
        f" the end.{bare}",
        "",
        "| scenario | deals | deals/s | vs | req / 1,000 deals | 414s | 429s | scan process"
        " peak MB | reader process peak MB | strategy | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in figures["rows"]:
        vs = ""
        if "vs_bare_loop" in r:
            vs = f"{r['vs_bare_loop']:.0%} of the bare loop"
        if r.get("runs_deals_per_s"):
            vs = (vs + runs_text(r["runs_deals_per_s"])).strip()
        if "vs_list_ceiling" in r:
            vs = (
                f"{r['vs_list_ceiling']:.0%} of {r['list_ceiling']:,.0f} (list), "
                f"{r['vs_list_search_ceiling']:.0%} of "
                f"{r['list_search_ceiling']:,.0f} (list+search)"
            )
        lines.append(
            f"| {r['scenario']} | {r['deals']:,} | {r['deals_per_s']:,.0f} | {vs} "
            f"| {r['requests_per_1000']:.1f} | {r['refused_414']} | {r['rate_limited']} "
            f"| {r['peak_rss_mb']:.0f} | {r['reader_peak_rss_mb']:.0f} "
            f"| {r['read_strategy']} | {r['load_average']} |"
        )
    if "peers" in figures:
        p = figures["peers"]
        lines += ["", "Peers:", "", peers.markdown(p["rows"], p["deals"], p["properties"]).rstrip()]
    if "shim" in figures:
        from shim_bench import markdown as shim_markdown

        lines += ["", "The REST API:", "", shim_markdown(figures["shim"]).rstrip()]
    return "\n".join(lines) + "\n"


def report(figures: dict) -> None:
    m = figures["machine"]
    print()
    if not figures["rows"]:
        report_peers(figures)
        return
    print(
        f"{figures['deals']:,} sandbox deals; {m['cpus']} x {m['cpu_model']}, {m['memory_gb']} GB;"
        f" load average {figures['load_average']['start']} -> {figures['load_average']['end']}"
    )
    print(
        f"{'scenario':<30}{'deals/s':>9}{'req/1k':>8}{'414':>5}{'429':>5}{'scan MB':>9}"
        f"{'reader MB':>10}  {'strategy':<22}extra"
    )
    for r in figures["rows"]:
        extra = ""
        if "vs_bare_loop" in r:
            extra = f"{r['vs_bare_loop']:.0%} of the bare loop"
        if r.get("runs_deals_per_s"):
            extra = (extra + runs_text(r["runs_deals_per_s"])).strip()
        if "vs_list_ceiling" in r:
            extra = (
                f"{r['vs_list_ceiling']:.0%} of list ceiling {r['list_ceiling']:,.0f}/s, "
                f"{r['vs_list_search_ceiling']:.0%} of list+search "
                f"{r['list_search_ceiling']:,.0f}/s"
            )
        print(
            f"{r['scenario']:<30}{r['deals_per_s']:>9,.0f}{r['requests_per_1000']:>8.1f}"
            f"{r['refused_414']:>5}{r['rate_limited']:>5}{r['peak_rss_mb']:>9.0f}"
            f"{r['reader_peak_rss_mb']:>10.0f}  {r['read_strategy'] or '':<22}{extra}"
        )
    if figures.get("bare_loop"):
        print(
            f"bare loop (all properties): {figures['bare_loop']:,.0f} deals/s"
            f"{runs_text(figures.get('bare_loop_runs'))}"
        )
    report_peers(figures)


def report_peers(figures: dict) -> None:
    if "peers" in figures:
        p = figures["peers"]
        print()
        print(peers.markdown(p["rows"], p["deals"], p["properties"]))


def runs_text(rates: list[float] | None) -> str:
    """' (median of 3 runs: a / b / c)' for repeated figures, '' for one run."""
    if not rates or len(rates) < 2:
        return ""
    return f" (median of {len(rates)} runs: {' / '.join(f'{x:,.0f}' for x in rates)})"


def plot(rows: list[dict], path: Path, m: dict) -> None:
    scale = sorted((r for r in rows if "scale" in r), key=lambda r: r["scale"])
    if not scale:
        return
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no plot")
        return
    counts = [r["scale"] for r in scale]
    fig, speed = plt.subplots(figsize=(7, 4))
    speed.plot(counts, [r["deals_per_s"] for r in scale], "o-", color="tab:blue", label="deals/s")
    speed.set_xscale("log")
    speed.set_xlabel("deals in the scan")
    speed.set_ylabel("deals/s (DuckDB, 77 properties)", color="tab:blue")
    speed.set_ylim(bottom=0)
    memory = speed.twinx()
    memory.plot(counts, [r["peak_rss_mb"] for r in scale], "s--", color="tab:red",
                label="scan process")  # fmt: skip
    memory.plot(counts, [r["reader_peak_rss_mb"] for r in scale], "^:", color="tab:orange",
                label="deal reader process")  # fmt: skip
    memory.set_ylabel("peak resident memory (MB)", color="tab:red")
    memory.set_ylim(bottom=0)
    memory.legend(loc="lower right")
    speed.set_title(f"Full scan against the sandbox; {m['cpus']} x {m['cpu_model']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


if __name__ == "__main__":
    sys.exit(main())
