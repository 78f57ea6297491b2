"""The peers beside the project: Meltano's and Airbyte's HubSpot extractors on the same sandbox.

Each peer is installed from the package index into a virtualenv of its own (under
`--peers-dir`, kept between runs) and run by `bench/peer_runner.py` in that venv. A peer that
cannot be installed is skipped with a printed line. What is measured for every contender: deals
per second end to end (its process's wall time, start-up included, over the live deals it
delivered) and the peak resident memory of its whole process tree. The peers stop at their
output (Singer or Airbyte messages on stdout, counted and discarded here); the project's figure
includes loading into DuckDB.
"""

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RUNNER = BENCH / "peer_runner.py"
DEFAULT_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / (
    "hubspot-deals-bench/peers"
)
RECORD_MARKS = (b'{"type":"RECORD"', b'{"type": "RECORD"')


@dataclass(frozen=True)
class Peer:
    name: str
    package: str
    label: str


PEERS = (
    Peer("meltano", "meltano-tap-hubspot", "Meltano tap-hubspot"),
    Peer("airbyte", "airbyte-source-hubspot", "Airbyte source-hubspot"),
)


def install(peer: Peer, root: Path) -> Path | None:
    """The peer's venv Python, installing the package first if needed; None (and a printed
    reason) when it cannot be installed."""
    venv = root / peer.name
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.exists():
        return python
    print(f"installing {peer.package} into {venv} ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", peer.package],
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"skipping {peer.label}: cannot create its virtualenv ({exc})", flush=True)
        return None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"skipping {peer.label}: pip could not install {peer.package}: {reason}", flush=True)
        return None
    marker.write_text(peer.package + "\n")
    return python


class TreeMemory:
    """Peak resident memory of a process and all its descendants, sampled."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.every = every
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                rss = 0
                for p in tree:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        rss += p.memory_info().rss
            except psutil.Error:
                return
            self.peak_mb = max(self.peak_mb, rss / 2**20)
            time.sleep(self.every)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def count_records(stream) -> int:  # noqa: ANN001
    """Record messages in a stream of Singer or Airbyte JSON lines (each names its type first)."""
    return sum(1 for line in stream if line.startswith(RECORD_MARKS))


def run_peer(peer: Peer, python: Path, base_url: str, token: str) -> dict:
    """One run of the peer: deals delivered, wall seconds, peak RSS of its process tree."""
    with (
        tempfile.TemporaryDirectory(prefix=f"bench-{peer.name}-") as work,
        open(Path(work) / "stderr", "wb") as err,
    ):
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(python), str(RUNNER), peer.name, base_url, token, work],
            stdout=subprocess.PIPE,
            stderr=err,
            cwd=work,
        )
        memory = TreeMemory(proc.pid)
        assert proc.stdout is not None
        deals = count_records(proc.stdout)
        proc.wait()
        wall = time.perf_counter() - started
        peak = memory.stop()
        if proc.returncode != 0:
            stderr = (Path(work) / "stderr").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{peer.label} failed ({proc.returncode}):\n{stderr}")
    return {"deals": deals, "wall_seconds": wall, "peak_rss_mb": peak}


def side_by_side(runs: dict[str, list[dict]], bare: list[float], project: str) -> list[dict]:
    """One row per contender: median deals/s of its runs, highest peak RSS, and ratios to the
    project's (`project` names its key in `runs`). The bare loop has no process of its own."""
    rows = [
        {
            "contender": "bare fetch-and-decode loop",
            "deals_per_s": statistics.median(bare),
            "runs_deals_per_s": bare,
            "peak_rss_mb": None,
        }
    ]
    for name, results in runs.items():
        rates = [r["deals"] / r["wall_seconds"] for r in results]
        rows.append(
            {
                "contender": name,
                "deals": results[0]["deals"],
                "deals_per_s": statistics.median(rates),
                "runs_deals_per_s": rates,
                "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
            }
        )
    mine = next(r for r in rows if r["contender"] == project)
    for row in rows:
        row["project_speedup"] = mine["deals_per_s"] / row["deals_per_s"]
        row["memory_vs_project"] = (
            row["peak_rss_mb"] / mine["peak_rss_mb"] if row["peak_rss_mb"] else None
        )
    return rows


def markdown(rows: list[dict], deals: int, properties: int) -> str:
    lines = [
        f"{deals:,} sandbox deals ({properties} properties), end to end; medians of "
        f"{len(rows[0]['runs_deals_per_s'])} interleaved runs; peak RSS of the whole process tree.",
        "",
        "| contender | deals/s | runs | project is x faster | peak RSS MB | RSS vs project |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        runs = " / ".join(f"{x:,.0f}" for x in r["runs_deals_per_s"])
        rss = f"{r['peak_rss_mb']:.0f}" if r["peak_rss_mb"] else "-"
        vs = f"{r['memory_vs_project']:.2f}x" if r["memory_vs_project"] else "-"
        lines.append(
            f"| {r['contender']} | {r['deals_per_s']:,.0f} | {runs} "
            f"| {r['project_speedup']:.2f} | {rss} | {vs} |"
        )
    return "\n".join(lines) + "\n"
