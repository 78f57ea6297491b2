"""`hubspot-deals sandbox` / `python -m hubspot_sandbox`: serve the sandbox with uvicorn."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import socket
import sys

from hubspot_sandbox.auth import generate_token
from hubspot_sandbox.config import SandboxConfig

TOKENS_ENV = "HUBSPOT_SANDBOX_TOKENS"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hubspot-deals sandbox",
        description="A local stand-in for the HubSpot CRM v3 deals API (deterministic data, "
        "HubSpot's errors, rate limits and injected faults).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    SandboxConfig.add_arguments(parser)
    return parser


def parse_config(argv: list[str] | None = None) -> SandboxConfig:
    config = SandboxConfig.from_namespace(build_parser().parse_args(argv))
    env_tokens = tuple(os.environ.get(TOKENS_ENV, "").split())
    if env_tokens:
        config = dataclasses.replace(config, tokens=config.tokens + env_tokens)
    return config


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from hubspot_sandbox.app import SandboxApp

    try:
        config = parse_config(argv)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    generated = None
    if not config.tokens:
        generated = generate_token()
        config = dataclasses.replace(config, tokens=(generated,))
    try:
        app = SandboxApp(config)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        sock = _bind(config.host, config.port)
    except OSError as exc:
        print(f"error: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    host = f"[{config.host}]" if ":" in config.host else config.host
    account = app.account
    line = (
        f"HubSpot sandbox on http://{host}:{port} | deals: {account.live_count} live, "
        f"{account.archived_count} archived | seed {config.seed}"
    )
    if generated:
        line += f" | token: {generated}"
    print(line, flush=True)
    logging.basicConfig(level=config.log_level.upper(), stream=sys.stderr)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            loop="uvloop",
            http="httptools",
            lifespan="off",
            access_log=False,
            log_level=config.log_level,
            server_header=False,
            timeout_keep_alive=30,
        )
    )
    server.run(sockets=[sock])
    return 0
