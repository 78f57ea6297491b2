"""Every CLI command on a missing or bad setting, a bad token, an unreachable HubSpot or
database: an exit code and one line on stderr that says what is wrong, never a traceback."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from hubspot_deals.stack import free_port
from hubspot_deals_tests.cli_runs import one_line_error, run_cli
from hubspot_deals_tests.sandbox.conftest import make_token
from hubspot_deals_tests.servers import kill_leftovers
from hubspot_sandbox.process import SandboxServer

DEALS, SEED = 400, 5


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(deals=DEALS, seed=SEED, tokens=[make_token()]) as server:
        yield server


def test_scan_without_dagster_home_uses_the_demos_home(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = {"HUBSPOT_API_BASE_URL": sandbox.base_url, "HUBSPOT_ACCESS_TOKEN": sandbox.token}
    proc = run_cli(["scan", "first"], tmp_path, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    live = sandbox.account().live_count
    assert f"  deals            {live:>8} rows" in proc.stdout
    home = tmp_path / ".hubspot_deals"
    assert (home / "dagster_home" / "dagster.yaml").exists()
    assert (home / "hubspot_deals.duckdb").exists()


def test_scan_with_a_bad_token(sandbox: SandboxServer, tmp_path: Path) -> None:
    wrong = make_token()
    env = {"HUBSPOT_API_BASE_URL": sandbox.base_url, "HUBSPOT_ACCESS_TOKEN": wrong}
    line = one_line_error(run_cli(["scan", "bad"], tmp_path, env), 1)
    assert line.startswith(
        "Scan bad failed: HubSpot rejected the access token (401 INVALID_AUTHENTICATION): "
        "it is unknown, revoked or expired (HubSpot correlation id "
    )
    assert wrong not in line


def test_scan_without_a_token(sandbox: SandboxServer, tmp_path: Path) -> None:
    env = {"HUBSPOT_API_BASE_URL": sandbox.base_url}
    assert one_line_error(run_cli(["scan", "none"], tmp_path, env), 1) == (
        "Scan none failed: no HubSpot access token: the run config has no "
        "access_token_ciphertext and HUBSPOT_ACCESS_TOKEN is not set"
    )


def test_scan_with_hubspot_unreachable(tmp_path: Path) -> None:
    env = {
        "HUBSPOT_API_BASE_URL": f"http://127.0.0.1:{free_port()}",
        "HUBSPOT_ACCESS_TOKEN": make_token(),
        "HUBSPOT_DEALS_MAX_ATTEMPTS": "1",
    }
    assert one_line_error(run_cli(["scan", "down"], tmp_path, env), 1) == (
        "Scan down failed: ConnectionError talking to HubSpot; gave up after 1 attempts"
    )


@pytest.mark.slow
def test_scan_with_the_database_unreachable(sandbox: SandboxServer, tmp_path: Path) -> None:
    """The scan waits out an unavailable destination for its patience (a warning line each
    retry), then fails in one line naming the setting."""
    port = free_port()
    env = {
        "HUBSPOT_API_BASE_URL": sandbox.base_url,
        "HUBSPOT_ACCESS_TOKEN": sandbox.token,
        "HUBSPOT_DEALS_DESTINATION": "postgres",
        "HUBSPOT_DEALS_POSTGRES_DSN": f"postgresql://postgres@127.0.0.1:{port}/none",
        "HUBSPOT_DEALS_DESTINATION_PATIENCE_SECONDS": "4",
    }
    proc = run_cli(["scan", "nodb"], tmp_path, env)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and 'File "' not in proc.stderr, proc.stderr
    *waits, last = proc.stderr.splitlines()
    assert waits and all(w.startswith("warning: destination busy (connection to") for w in waits)
    assert last == (
        "Scan nodb failed: the destination stayed unavailable past the scan's patience "
        f'(HUBSPOT_DEALS_DESTINATION_PATIENCE_SECONDS): connection to server at "127.0.0.1", '
        f"port {port} failed: Connection refused"
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["scan", "x"],
            {"HUBSPOT_DEALS_HTTP_TIMEOUT_SECONDS": "soon"},
            "error: invalid setting HUBSPOT_DEALS_HTTP_TIMEOUT_SECONDS (is 'soon'): Input "
            "should be a valid number, unable to parse string as a number",
        ),
        (
            ["api"],
            {"HUBSPOT_DEALS_API_PORT": "http"},
            "error: invalid setting HUBSPOT_DEALS_API_PORT (is 'http'): Input should be a valid "
            "integer, unable to parse string as an integer",
        ),
        (
            ["api"],
            {"HUBSPOT_DEALS_DESTINATION": "oracle"},
            "error: invalid setting HUBSPOT_DEALS_DESTINATION (is 'oracle'): Input should be "
            "'duckdb' or 'postgres'",
        ),
        (
            ["encrypt-token"],
            {"HUBSPOT_DEALS_ENCRYPTION_KEY": "not-a-key"},
            "error: HUBSPOT_DEALS_ENCRYPTION_KEY (or <HUBSPOT_DEALS_HOME>/encryption.key) is not "
            "a Fernet key: 32 url-safe base64-encoded bytes, as Fernet.generate_key() makes",
        ),
        (
            ["sandbox", "--deals", "-3"],
            {},
            "error: deals and custom_properties must be >= 0 and owners >= 1",
        ),
    ],
)
def test_a_bad_setting_is_one_line(
    args: list[str], env: dict[str, str], message: str, tmp_path: Path
) -> None:
    home = {"HUBSPOT_DEALS_HOME": str(tmp_path / "home")}
    proc = run_cli(args, tmp_path, {**home, **env}, stdin="a-token-of-some-length\n")
    assert one_line_error(proc, 2) == message


def test_a_corrupt_api_key_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "api_keys.json").write_text("{not json")
    proc = run_cli(["api", "keys", "list"], tmp_path, {"HUBSPOT_DEALS_HOME": str(tmp_path)})
    line = one_line_error(proc, 2)
    assert line.startswith(f"error: API key file {tmp_path / 'api_keys.json'} cannot be read: ")


def test_demo_whose_dagster_cannot_start(tmp_path: Path) -> None:
    """A Dagster instance file Dagster refuses: the demo names the log instead of a traceback,
    and leaves nothing running."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("storage:\n  bogus: {}\n")
    home = tmp_path / "home"
    args = ["demo", "--no-serve", "--deals", "100", "--home", str(home), "--dagster-port", "0",
            "--api-port", "0"]  # fmt: skip
    proc = run_cli(args, tmp_path, {"DAGSTER_HOME": str(dagster_home)})
    log = home / "logs" / "dagster.log"
    assert one_line_error(proc, 1) == f"error: Dagster's webserver did not come up; its log: {log}"
    assert "bogus" in log.read_text()
    assert kill_leftovers(str(home)) == []
