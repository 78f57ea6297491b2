"""`python -m api_shim` (and `hubspot-deals api`): serve the REST API with uvicorn, or manage
its API keys (`... keys create|list|revoke`)."""

import argparse
import logging
import sys

import uvicorn

from api_shim.api_keys import key_store
from api_shim.app import create_app
from api_shim.auth import serving_check
from api_shim.logs import configure_logging, uvicorn_log_config
from api_shim.settings import get_api_settings
from hubspot_deals.settings import get_settings

log = logging.getLogger("api_shim")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["keys"]:
        from api_shim.key_commands import main as keys_main

        return keys_main(argv[1:])
    settings = get_api_settings()
    parser = argparse.ArgumentParser(
        prog="hubspot-deals api",
        description="Serve the HubSpot deals REST API (settings: HUBSPOT_DEALS_API_* variables). "
        "`hubspot-deals api keys -h`: its API keys.",
    )
    parser.add_argument("--host", default=settings.host, help=f"default {settings.host}")
    parser.add_argument("--port", type=int, default=settings.port, help=f"default {settings.port}")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    keys = key_store(settings.api_keys_file, get_settings().home)
    check = serving_check(args.host, keys, settings.open_access)
    if not check.allowed:
        print(f"error: {check.message}", file=sys.stderr)
        return 2
    log.log(logging.WARNING if check.open else logging.INFO, check.message)
    app = create_app(settings.model_copy(update={"host": args.host, "port": args.port}))
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=uvicorn_log_config(),
    )
    return 0
