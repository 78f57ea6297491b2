"""`python -m hubspot_sandbox` and the CLI's options."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import requests

from hubspot_deals_tests.sandbox.conftest import make_token
from hubspot_sandbox.cli import parse_config
from hubspot_sandbox.config import SandboxConfig
from hubspot_sandbox.process import SandboxServer, SandboxStartError


def test_defaults_and_every_option_round_trip() -> None:
    assert parse_config([]) == SandboxConfig()
    defaults = SandboxConfig()
    assert (defaults.host, defaults.port, defaults.deals, defaults.seed) == (
        "127.0.0.1",
        8765,
        10_000,
        1,
    )
    assert (defaults.rate_limit, defaults.max_url_length, defaults.custom_properties) == (
        0,
        16_300,
        60,
    )
    argv = [
        "--host", "0.0.0.0", "--port", "9000", "--deals", "500", "--seed", "3",
        "--custom-properties", "400", "--archived-share", "0.1", "--owners", "30",
        "--token", "a", "--token", "b:crm.objects.deals.read", "--rate-limit", "190",
        "--search-rate-limit", "4", "--daily-limit", "500000", "--fault-rate", "0.2",
        "--fault-codes", "502,504", "--fault-seed", "9", "--latency-ms", "50",
        "--max-url-length", "8000", "--log-level", "info", "--retry-after",
        "--list-cursor", "id", "--over-limit", "reject",
    ]  # fmt: skip
    config = parse_config(argv)
    assert config.tokens == ("a", "b:crm.objects.deals.read")
    assert config.fault_codes == (502, 504) and config.fault_seed == 9 and config.retry_after
    assert (config.deals, config.custom_properties, config.archived_share) == (500, 400, 0.1)
    assert parse_config(config.to_argv()) == config


def test_tokens_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBSPOT_SANDBOX_TOKENS", "x  y:crm.objects.owners.read")
    assert parse_config(["--token", "z"]).tokens == ("z", "x", "y:crm.objects.owners.read")


def test_module_prints_its_url_counts_and_a_generated_token() -> None:
    env = {k: v for k, v in os.environ.items() if k != "HUBSPOT_SANDBOX_TOKENS"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hubspot_sandbox",
            "--port",
            "0",
            "--deals",
            "400",
            "--seed",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(
            r"HubSpot sandbox on (http://127\.0\.0\.1:\d+) \| deals: 380 live, 20 archived \| "
            r"seed 2 \| token: (sandbox-[0-9a-f]{32})\n",
            line,
        )
        assert match, line
        url, token = match.groups()
        for _ in range(200):
            try:
                resp = requests.get(
                    f"{url}/crm/v3/objects/deals",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=5,
                )
                break
            except requests.ConnectionError:
                continue
        assert resp.status_code == 200
        other = make_token()
        assert (
            requests.get(
                f"{url}/crm/v3/objects/deals",
                headers={"Authorization": f"Bearer {other}"},
                timeout=5,
            ).status_code
            == 401
        )
    finally:
        process.terminate()
        assert process.wait(timeout=10) in (0, -15)  # uvicorn re-raises SIGTERM after a clean stop


def test_bad_options_fail_cleanly() -> None:
    with pytest.raises(SystemExit):
        parse_config(["--fault-codes", "abc"])
    result = subprocess.run(
        [sys.executable, "-m", "hubspot_sandbox", "--fault-rate", "2"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and "fault rate" in result.stderr


def test_server_that_cannot_start_raises_with_its_log() -> None:
    server = SandboxServer(deals=10, fault_rate=2.0)
    with pytest.raises(SandboxStartError, match="fault rate must be between 0 and 1"):
        server.start()
    assert not server.running
