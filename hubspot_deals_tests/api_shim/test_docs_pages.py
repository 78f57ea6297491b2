"""The API's docs pages work offline: every asset from the running shim, no URL elsewhere.

The browser part renders Swagger UI in headless Chromium with every address but loopback
unreachable; it runs where Chromium is installed (Debian's `chromium`) and skips elsewhere.
"""

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubspot_deals_tests.api_shim.conftest import Shim, home_env, shim_env

PAGES = ("/api/v1/docs", "/api/v1/redoc")
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
}


@pytest.fixture(scope="module")
def shim(module_dir: Path, clean_env: None) -> Iterator[Shim]:
    with Shim(shim_env(None, home_env(module_dir), open_access="true"), module_dir) as running:
        yield running


def referenced(page: str) -> list[str]:
    """What a page loads: script src, link href, and the OpenAPI document it renders."""
    urls = re.findall(r'<script[^>]*\ssrc="([^"]+)"', page)
    urls += re.findall(r'<link[^>]*\shref="([^"]+)"', page)
    urls += re.findall(r"url: '([^']+)'", page)  # Swagger UI's configuration
    urls += re.findall(r'spec-url="([^"]+)"', page)  # ReDoc's element
    return urls


def test_docs_pages_load_everything_from_the_shim(shim: Shim) -> None:
    loaded = {}
    for path in PAGES:
        page = shim.session.get(shim.url + path, timeout=30)
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert re.findall(r"https?://", page.text) == [], path
        for url in referenced(page.text):
            assert url.startswith("/api/v1/"), url
            asset = shim.session.get(shim.url + url, timeout=30)
            assert asset.status_code == 200, url
            kind = asset.headers["content-type"].split(";")[0]
            assert kind == CONTENT_TYPES[Path(url).suffix], url
            loaded[url] = len(asset.content)
    assert sorted(loaded) == [
        "/api/v1/docs/static/favicon.png",
        "/api/v1/docs/static/redoc.standalone.js",
        "/api/v1/docs/static/swagger-ui-bundle.js",
        "/api/v1/docs/static/swagger-ui.css",
        "/api/v1/openapi.json",
    ]
    assert loaded["/api/v1/docs/static/swagger-ui-bundle.js"] > 1_000_000  # the real bundle


def operation_count(schema: dict) -> int:
    methods = {"get", "post", "put", "patch", "delete", "head", "options"}
    return sum(1 for item in schema["paths"].values() for method in item if method in methods)


@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="no chromium on this machine (Debian: apt-get install chromium)",
)
def test_swagger_ui_renders_every_operation_offline(shim: Shim, tmp_path: Path) -> None:
    """Chromium sends whatever is not loopback to a closed port and resolves no host name: a
    page that needs a CDN renders nothing there."""
    offline = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=127.0.0.1;localhost",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=30000",
    ]
    dom = subprocess.run(
        ["chromium", *offline, "--dump-dom", shim.url + "/api/v1/docs"],
        capture_output=True,
        text=True,
        timeout=180,
    ).stdout
    operations = operation_count(shim.get("/openapi.json").json())
    assert len(re.findall(r'class="opblock opblock-(?:get|post|put|patch|delete)', dom)) == (
        operations
    )
    assert "HubSpot Deals Extraction API" in dom
