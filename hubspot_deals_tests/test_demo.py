"""The quick start's first command, end to end: sandbox, Dagster, REST API and one scan."""

import contextlib
import os
import shlex
import signal
import subprocess
from pathlib import Path

import psutil
import pytest
import requests

from hubspot_deals.stack import BIN, REPO, free_port
from hubspot_deals_tests.servers import kill_leftovers


def demo_args(home: Path, *extra: str) -> list[str]:
    return [
        str(BIN / "hubspot-deals"), "demo", "--deals", "2000", "--seed", "3",
        "--home", str(home), "--dagster-port", str(free_port()),
        "--api-port", str(free_port()), *extra,
    ]  # fmt: skip


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "DAGSTER_"))}


@pytest.mark.slow
def test_demo_scans_the_sandbox_through_the_rest_api(tmp_path) -> None:
    proc = subprocess.run(
        demo_args(tmp_path / "home", "--no-serve", "--scan-id", "quickstart"),
        env=clean_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    lines = out.splitlines()
    phases = [line.split("] ", 1)[1].split(" ")[:2] for line in lines if line.startswith("[")]
    assert phases == [
        ["Starting", "the"],
        ["Starting", "Dagster"],
        ["Waiting", "for"],
        ["Waiting", "for"],
        ["Scan", "'quickstart'"],
    ]
    assert "Scan 'quickstart' started through POST http://127.0.0.1:" in out
    assert "  completed  100.0%      2,000 deals extracted" in out
    assert "  deals                2000 rows" in out
    assert "  pipelines               3 rows" in out
    end_to_end = next(line for line in lines if line.startswith("  deals/s end to end "))
    reading = next(line for line in lines if line.startswith("  deals/s reading    "))
    assert end_to_end.endswith("(from the POST to completed: the run's start-up included)")
    assert "(the scan's deal loop, " in reading
    # Reading alone is faster than the whole way from the request, start-up and all.
    assert int(reading.split()[2].replace(",", "")) > int(end_to_end.split()[4].replace(",", ""))
    assert "Deals loaded 2000 equal to the sandbox's 2000 (1900 live + 100 archived, seed 3)" in out
    assert "Dagster UI     http://127.0.0.1:" in out


def replay_curl(line: str) -> requests.Response:
    """The request of a printed `curl -s -X POST URL -H H -d BODY` line."""
    words = shlex.split(line)
    assert words[:4] == ["curl", "-s", "-X", "POST"], words
    url, options = words[4], dict(zip(words[5::2], words[6::2], strict=True))
    name, value = options["-H"].split(": ", 1)
    return requests.post(url, data=options["-d"], headers={name: value}, timeout=60)


@pytest.mark.slow
def test_demo_prints_a_working_curl_and_stops_everything_on_sigterm(tmp_path) -> None:
    home = tmp_path / "home"
    demo = subprocess.Popen(
        demo_args(home, "--scan-id", "served"),
        env=clean_env(),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    tree: list[psutil.Process] = []
    try:
        shown = []
        for line in demo.stdout:
            shown.append(line)
            if line.startswith("Serving until interrupted"):
                break
        else:
            pytest.fail("the demo stopped before serving:\n" + "".join(shown)[-3000:])
        curl = next(line.strip() for line in shown if line.strip().startswith("curl "))
        assert '"scanId": "served-2"' in curl
        started = replay_curl(curl)
        assert started.status_code == 202, started.text
        tree = psutil.Process(demo.pid).children(recursive=True)
        commands = [" ".join(p.cmdline()) for p in tree]
        assert any("hubspot_sandbox" in c for c in commands), commands
        assert any("dagster" in c and " dev " in c for c in commands), commands
        assert any(" api " in c for c in commands), commands
        demo.send_signal(signal.SIGTERM)  # `kill <pid>`: the demo alone, not its group
        rest, _ = demo.communicate(timeout=180)
        assert demo.returncode == 0, rest
        assert "Stopping ..." in rest
        gone, alive = psutil.wait_procs(tree, timeout=60)
        assert alive == [], [" ".join(p.cmdline()) for p in alive if p.is_running()]
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(timeout=30)
        for process in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        kill_leftovers(str(home))
