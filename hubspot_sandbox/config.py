"""Every knob of the sandbox, declared once: the CLI, `SandboxServer` and the app all read this."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Any


def _knob(default: Any, help: str, flag: str | None = None, **argparse_options: Any) -> Any:
    metadata = {"help": help, "flag": flag, "argparse": argparse_options}
    if isinstance(default, list | tuple):
        return field(default=tuple(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def _codes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated status codes: {text!r}"
        ) from None


@dataclass(frozen=True)
class SandboxConfig:
    host: str = _knob("127.0.0.1", "interface to listen on")
    port: int = _knob(8765, "port to listen on (0: any free port)")
    deals: int = _knob(10_000, "number of deals, live and archived")
    seed: int = _knob(1, "data seed: the same seed gives byte-identical data")
    custom_properties: int = _knob(60, "number of custom deal properties")
    archived_share: float = _knob(0.05, "share of deals that are archived")
    owners: int = _knob(25, "number of active owners (plus 2 archived ones)")
    tokens: tuple[str, ...] = _knob(
        (),
        "accepted token, TOKEN (all scopes) or TOKEN:scope1,scope2; repeatable; also read from "
        "HUBSPOT_SANDBOX_TOKENS; none at all: one is generated and printed",
        flag="--token",
        action="append",
        metavar="TOKEN[:SCOPES]",
    )
    oauth_clients: tuple[str, ...] = _knob(
        (),
        "OAuth app the sandbox's /oauth endpoints accept, CLIENT_ID:CLIENT_SECRET; repeatable",
        flag="--oauth-client",
        action="append",
        metavar="CLIENT_ID:SECRET",
    )
    oauth_token_lifetime: int = _knob(
        1800, "seconds an OAuth access token works before 401 EXPIRED_AUTHENTICATION"
    )
    rate_limit: int = _knob(
        0, "ten-secondly requests per token (HubSpot: 100 or 190); 0 turns all rate limits off"
    )
    rate_limit_window_ms: int = _knob(10_000, "length of the rolling burst window")
    search_rate_limit: int = _knob(5, "search requests per second per account (0: unlimited)")
    search_window_ms: int = _knob(1_000, "length of the search window")
    association_rate_limit: int = _knob(
        100,
        "v4 association batch reads per token per rate-limit window, a bucket of their own "
        "(HubSpot's Free/Starter figure; 0: unlimited)",
    )
    daily_limit: int = _knob(250_000, "requests per day per account (0: unlimited)")
    search_rate_limit_headers: str = _knob(
        "none",
        "rate-limit headers on search responses: none (HubSpot's docs) or daily",
        choices=("none", "daily"),
    )
    search_bucket: str = _knob(
        "separate",
        "search requests draw on their own bucket only (separate: HubSpot's docs) or on the "
        "token's ten-secondly bucket too (shared: seen on some portals; its headers and 429s "
        "are inferred)",
        choices=("separate", "shared"),
    )
    retry_after: bool = _knob(False, "send Retry-After on 429 (HubSpot generally does not)")
    advertised_rate_limit: int = _knob(
        1_000_000, "X-HubSpot-RateLimit-Max shown while rate limiting is off"
    )
    fault_rate: float = _knob(0.0, "share of HubSpot-route requests answered with a 5xx")
    fault_codes: tuple[int, ...] = _knob(
        (500, 502, 503, 504), "status codes of injected faults", type=_codes, metavar="CODES"
    )
    fault_seed: int | None = _knob(None, "seed of the fault draws (reproducible faults)", type=int)
    latency_ms: float = _knob(0.0, "latency added to every HubSpot-route request")
    latency_jitter_ms: float = _knob(0.0, "extra random latency, uniform in [0, this]")
    max_url_length: int = _knob(16_300, "longer request URLs get nginx's 414")
    over_limit: str = _knob(
        "clamp",
        "a page size above the maximum (100 list, 200 search, 500 owners, 50 with history): "
        "clamp it or reject with 400",
        choices=("clamp", "reject"),
    )
    list_cursor: str = _knob(
        "opaque",
        "paging.next.after of list pages: opaque (base64) or id (the next deal's id)",
        choices=("opaque", "id"),
    )
    max_filter_groups: int = _knob(5, "search: filter groups per request")
    max_filters_per_group: int = _knob(6, "search: filters per group")
    max_filters_total: int = _knob(18, "search: filters per request")
    search_max_results: int = _knob(10_000, "search: after + limit may not go past this")
    log_level: str = _knob(
        "warning", "uvicorn log level", choices=("critical", "error", "warning", "info", "debug")
    )

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        for f in dataclasses.fields(cls):
            meta = f.metadata
            flag = meta["flag"] or "--" + f.name.replace("_", "-")
            options = dict(meta["argparse"])
            if isinstance(f.default, bool):
                options.setdefault("action", "store_true")
            elif "type" not in options and "action" not in options:
                options["type"] = type(f.default)
            default = None if options.get("action") == "append" else f.default
            parser.add_argument(
                flag, dest=f.name, default=default, help=f"{meta['help']}", **options
            )

    @classmethod
    def from_namespace(cls, namespace: argparse.Namespace) -> SandboxConfig:
        values = {f.name: getattr(namespace, f.name) for f in dataclasses.fields(cls)}
        values["tokens"] = tuple(values["tokens"] or ())
        values["oauth_clients"] = tuple(values["oauth_clients"] or ())
        return cls(**values)

    def to_argv(self) -> list[str]:
        """Command-line arguments that reproduce this configuration."""
        argv: list[str] = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value == f.default:
                continue
            flag = f.metadata["flag"] or "--" + f.name.replace("_", "-")
            if f.name in ("tokens", "oauth_clients"):
                for token in value:
                    argv += [flag, token]
            elif isinstance(value, bool):
                argv.append(flag)
            elif isinstance(value, tuple):
                argv += [flag, ",".join(str(v) for v in value)]
            else:
                argv += [flag, str(value)]
        return argv
