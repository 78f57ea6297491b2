"""API keys fail closed, against the shim under uvicorn (no Dagster: a request that passes the
key check gets Dagster's 503, one that does not gets a 401).

The key file emptied, deleted or damaged while the shim runs, or its last key revoked, refuses
every request; only the explicit HUBSPOT_DEALS_API_OPEN_ACCESS opens the API, on loopback and
while no key exists. A secret in a query string never reaches the access log.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from api_shim.api_keys import SCOPES, ApiKeyStore
from hubspot_deals_tests.api_shim.conftest import Shim, home_env, shim_env
from hubspot_deals_tests.servers import REPO, free_port

PUBLIC = {("GET", "/health"), ("GET", "/api/v1/health"), ("GET", "/api/hs/auth/callback")}
INVALID_KEY = "Invalid or missing API key"
UNREADABLE = "API keys cannot be checked right now"


@dataclass
class Keyed:
    shim: Shim
    store: ApiKeyStore
    key: str
    key_id: str

    def call(self, method: str, path: str, key: str | None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return requests.request(method, self.shim.url + path, headers=headers, timeout=60, **kwargs)


@pytest.fixture(scope="module")
def keyed(module_dir: Path, clean_env: None) -> Iterator[Keyed]:
    home = home_env(module_dir / "keyed")
    store = ApiKeyStore(Path(home["HUBSPOT_DEALS_HOME"]) / "api_keys.json")
    key, record = store.create("test", list(SCOPES), ["org-a"])
    with Shim(shim_env(None, home), module_dir, name="keyed-shim") as shim:
        yield Keyed(shim, store, key, record.key_id)


def tenant_routes(keyed: Keyed) -> list[tuple[str, str]]:
    """Every operation the document lists but health and the OAuth callback, scan ids filled."""
    document = keyed.call("GET", "/api/v1/openapi.json", None).json()
    return [
        (
            method.upper(),
            path.replace("{scan_id}", "scan-1")
            .replace("{format}", "csv")
            .replace("{contact_id}", "151")
            .replace("{sync_type}", "all"),
        )
        for path, item in document["paths"].items()
        for method in item
        if (method.upper(), path) not in PUBLIC
    ]


def assert_unauthorized(response: requests.Response, path: str, message: str) -> None:
    """A 401 in the shape of the path's surface."""
    assert response.status_code == 401, (response.request.method, path, response.text)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    if path.startswith("/api/v1/scans"):
        assert body.pop("timestamp").endswith("Z")
        assert body == {"error": "unauthorized", "message": message}
    else:
        assert body == {"success": False, "message": message, "error": message}


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def empty_object(keyed: Keyed) -> None:
    keyed.store.path.write_text("{}")


def empty_list(keyed: Keyed) -> None:
    keyed.store.path.write_text('{"keys": []}')


def delete(keyed: Keyed) -> None:
    keyed.store.path.unlink()


def damage(keyed: Keyed) -> None:
    keyed.store.path.write_text('{"keys": [{"key_id"')


def replace_by_folder(keyed: Keyed) -> None:  # unreadable, also for root
    keyed.store.path.unlink()
    keyed.store.path.mkdir()


def revoke_last(keyed: Keyed) -> None:
    keyed.store.revoke(keyed.key_id)


@pytest.mark.parametrize(
    ("breakage", "message", "logged"),
    [
        (empty_object, INVALID_KEY, "holds no API key (deleted or emptied?)"),
        (empty_list, INVALID_KEY, "holds no API key (deleted or emptied?)"),
        (delete, INVALID_KEY, "holds no API key (deleted or emptied?)"),
        (damage, UNREADABLE, "cannot be read: Expecting"),
        (replace_by_folder, UNREADABLE, "cannot be read: [Errno 21] Is a directory"),
        (revoke_last, INVALID_KEY, None),
    ],
    ids=["emptied-object", "emptied-list", "deleted", "damaged", "folder", "last-key-revoked"],
)
def test_a_key_file_without_usable_keys_refuses_every_tenant_route(
    keyed: Keyed, breakage: Callable[[Keyed], None], message: str, logged: str | None
) -> None:
    assert keyed.call("GET", "/api/v1/scan/list", keyed.key).status_code == 503
    original = keyed.store.path.read_bytes()
    log_before = len(keyed.shim.log())
    breakage(keyed)
    try:
        routes = tenant_routes(keyed)
        # both surfaces, OAuth, contacts and the property sync, public ones left out
        assert len(routes) == 35
        for method, path in routes:
            for key in (keyed.key, None):
                assert_unauthorized(keyed.call(method, path, key), path, message)
        public = keyed.call("GET", "/health", None)
        assert public.status_code == 503 and public.json()["status"] == "unhealthy"
        if logged is not None:
            wait_for(lambda: logged in keyed.shim.log()[log_before:], f"log line {logged!r}")
            new_lines = keyed.shim.log()[log_before:]
            assert new_lines.count("refusing every request until it is fixed") == 1
            assert f"ERROR api_shim.auth: API key file {keyed.store.path}" in new_lines
    finally:
        if keyed.store.path.is_dir():
            keyed.store.path.rmdir()
        restored = keyed.store.path.with_name("restored.json")
        restored.write_bytes(original)
        os.replace(restored, keyed.store.path)
    assert keyed.call("GET", "/api/v1/scan/list", keyed.key).status_code == 503
    assert keyed.call("GET", "/api/v1/scan/list", None).status_code == 401
    log = keyed.shim.log()
    assert keyed.key not in log and keyed.key.split("_", 2)[2] not in log


def test_secrets_in_query_strings_never_reach_the_access_log(keyed: Keyed) -> None:
    secret = keyed.key.split("_", 2)[2]
    refused = keyed.call("GET", f"/api/v1/scan/list?api_key={keyed.key}&limit=5", None)
    assert refused.status_code == 401
    passed = keyed.call(
        "GET", f"/api/v1/scans/scan-1?token={secret}&access_token=a1b2c3d4e5", keyed.key
    )
    assert passed.status_code == 503
    callback = keyed.call(
        "GET",
        "/api/hs/auth/callback?code=c0de-0f-the-grant&state=st4te-0f-the-login",
        None,
        allow_redirects=False,
    )
    assert callback.status_code == 302
    lines = [
        '"GET /api/v1/scan/list?api_key=[redacted]&limit=5 HTTP/1.1" 401',
        '"GET /api/v1/scans/scan-1?token=[redacted]&access_token=[redacted] HTTP/1.1" 503',
        '"GET /api/hs/auth/callback?code=[redacted]&state=[redacted] HTTP/1.1" 302',
    ]
    wait_for(lambda: all(line in keyed.shim.log() for line in lines), "the access log lines")
    log = keyed.shim.log()
    for leaked in (keyed.key, secret, "a1b2c3d4e5", "c0de-0f-the-grant", "st4te-0f-the-login"):
        assert leaked not in log


def serve(home: dict[str, str], host: str, **settings: str) -> subprocess.CompletedProcess:
    """`python -m api_shim` that is expected to refuse to start."""
    env = {**os.environ, **home}
    env.update({f"HUBSPOT_DEALS_API_{k.upper()}": v for k, v in settings.items()})
    return subprocess.run(
        [sys.executable, "-m", "api_shim", "--host", host, "--port", str(free_port())],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_open_access_is_an_explicit_setting_for_loopback_only(
    module_dir: Path, clean_env: None
) -> None:
    home = home_env(module_dir / "open")
    for host, settings, message in [
        ("127.0.0.1", {}, "Refusing to start without API keys: "),
        ("0.0.0.0", {}, "Refusing to serve on 0.0.0.0 without API keys"),
        ("0.0.0.0", {"open_access": "true"}, "Refusing to serve on 0.0.0.0 with HUBSPOT_DEALS_"),
    ]:
        refused = serve(home, host, **settings)
        assert refused.returncode == 2, (host, settings, refused.stderr)
        assert message in refused.stderr, refused.stderr
    with Shim(shim_env(None, home, open_access="true"), module_dir, name="open-shim") as shim:
        assert "the API is open to clients on this machine only (127.0.0.1)" in shim.log()
        # No key needed: the answer is Dagster's absence, not a 401.
        response = shim.get("/scans/scan-1")
        assert response.status_code == 503 and response.json()["error"] == "service_unavailable"
        # A key created while it runs closes it at once.
        store = ApiKeyStore(Path(home["HUBSPOT_DEALS_HOME"]) / "api_keys.json")
        key, _ = store.create("", ["scans.read"], ["org-a"])
        assert shim.get("/scans/scan-1").status_code == 401
        with_key = shim.get("/scans/scan-1", headers={"Authorization": f"Bearer {key}"})
        assert with_key.status_code == 503
        assert json.loads(store.path.read_text())["keys"][0]["key_id"] in key
