"""`python -m api_shim` (and `hubspot-deals api`): serve the REST API with uvicorn."""

import argparse
import sys

import uvicorn

from api_shim.app import create_app
from api_shim.logs import configure_logging
from api_shim.settings import get_api_settings


def main(argv: list[str] | None = None) -> int:
    settings = get_api_settings()
    parser = argparse.ArgumentParser(
        prog="hubspot-deals api",
        description="Serve the HubSpot deals REST API (settings: HUBSPOT_DEALS_API_* variables).",
    )
    parser.add_argument("--host", default=settings.host, help=f"default {settings.host}")
    parser.add_argument("--port", type=int, default=settings.port, help=f"default {settings.port}")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    configure_logging(args.log_level)
    app = create_app(settings.model_copy(update={"host": args.host, "port": args.port}))
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
