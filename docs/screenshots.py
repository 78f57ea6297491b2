"""Screenshots of the Dagster UI for the README, from a real run of the quick-start stack.

Starts `hubspot-deals demo` (sandbox, Dagster, REST API, one scan through the API), then takes
headless Chromium screenshots of the asset graph, the scan's partition and its asset checks.
Needs Debian's `chromium` (apt-get install chromium).

    .venv/bin/python docs/screenshots.py
"""

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from websockets.sync.client import connect

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
    "--hide-scrollbars", "--window-size=1600,1000",
]  # fmt: skip
# Dagster's first-visit dialog covers the page: dismiss it as a visitor would.
DISMISS = """[...document.querySelectorAll('button')].filter(b => b.textContent.trim() === 'Skip')
  .forEach(b => b.click())"""


class Browser:
    """Headless Chromium driven over the DevTools protocol: navigate, click, screenshot."""

    def __init__(self, chromium: str, profile: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
             f"--remote-debugging-port={self.port}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            try:
                pages = requests.get(f"http://127.0.0.1:{self.port}/json/list", timeout=2).json()
                target = next(p for p in pages if p["type"] == "page")
                break
            except (requests.RequestException, StopIteration, ValueError):
                time.sleep(0.2)
        else:
            raise RuntimeError("chromium did not start")
        self.ws = connect(target["webSocketDebuggerUrl"], max_size=None)
        self.ids = itertools.count(1)

    def call(self, method: str, **params: object) -> dict:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == msg_id:
                return reply.get("result", {})

    def screenshot(self, url: str, path: Path, settle: float = 8.0) -> None:
        self.call("Page.navigate", url=url)
        time.sleep(settle)
        self.call("Runtime.evaluate", expression=DISMISS)
        time.sleep(1.5)
        png = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(png))

    def close(self) -> None:
        self.ws.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


def wait_for_current_deals(port: int, timeout: float = 120.0) -> None:
    """The sensor rebuilds deals_current after the scan; wait for it so the graph shows it."""
    query = (
        '{ assetNodes(assetKeys: [{path: ["hubspot", "deals_current"]}]) '
        "{ assetMaterializations(limit: 1) { runId } } }"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=10)
        nodes = body.json()["data"]["assetNodes"]
        if nodes and nodes[0]["assetMaterializations"]:
            return
        time.sleep(2)


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
        wait_for_current_deals(port)
        OUT.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as profile:
            browser = Browser(chromium, profile)
            try:
                for name, path in PAGES.items():
                    browser.screenshot(f"http://127.0.0.1:{port}{path}", OUT / name)
                    print(f"wrote {OUT / name}")
            finally:
                browser.close()
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
