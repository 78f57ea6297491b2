"""Screenshots of the Dagster UI for the README, from a real run of the quick-start stack.

Starts `hubspot-deals demo` (sandbox, Dagster, REST API, one scan through the API), then takes
headless Chromium screenshots of the asset graph, the scan's partition and its asset checks.
Needs Debian's `chromium` (apt-get install chromium).

    .venv/bin/python docs/screenshots.py
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hubspot_deals.stack import BIN, free_port  # noqa: E402

OUT = REPO / "docs" / "images"
SCAN_ID = "ui-demo"
PAGES = {
    "asset-graph.png": "/asset-groups/hubspot",
    "scan-partition.png": f"/assets/hubspot/deals?view=partitions&partition={SCAN_ID}",
    "asset-checks.png": "/assets/hubspot/deals?view=checks",
}
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1600,1000", "--virtual-time-budget=20000",
]  # fmt: skip


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("needs Debian's chromium: apt-get install chromium", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="hubspot-deals-ui-"))
    port = free_port()
    demo = subprocess.Popen(
        [str(BIN / "hubspot-deals"), "demo", "--deals", "3000", "--home", str(home),
         "--scan-id", SCAN_ID, "--dagster-port", str(port), "--api-port", str(free_port())],
        cwd=REPO, stdout=subprocess.PIPE, text=True, start_new_session=True,
        env={k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "DAGSTER_"))},
    )  # fmt: skip
    try:
        for line in demo.stdout:
            print(line, end="")
            if line.startswith("Serving until interrupted"):
                break
        else:
            return 1
        time.sleep(5)  # the sensor's deals_current run, so the graph shows it materialized
        OUT.mkdir(parents=True, exist_ok=True)
        for name, path in PAGES.items():
            with tempfile.TemporaryDirectory() as profile:
                subprocess.run(
                    [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                     f"--screenshot={OUT / name}", f"http://127.0.0.1:{port}{path}"],
                    check=True, capture_output=True, timeout=120,
                )  # fmt: skip
            print(f"wrote {OUT / name}")
        return 0
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        try:
            demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
