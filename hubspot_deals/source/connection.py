"""What a token can do before a first scan (`hubspot-deals doctor`): whether HubSpot knows it,
its portal and scopes against those a scan needs, the portal's deal count, the token's
rate-limit tier and what a full scan of the deals will take at that tier.

HubSpot describes a token through one of two endpoints: a private app's with
`POST /oauth/v2/private-apps/get/access-token-info` (`{"tokenKey": ...}`), an OAuth access
token's with `GET /oauth/v1/access-tokens/{token}`. The second carries the token in its path,
so no message from that call is ever passed on.
"""

from dataclasses import dataclass, field
from typing import Any

from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.errors import (
    HubSpotAuthenticationError,
    HubSpotError,
    HubSpotRequestError,
)

PRIVATE_APP_TOKEN_INFO = "/oauth/v2/private-apps/get/access-token-info"
OAUTH_TOKEN_INFO = "/oauth/v1/access-tokens/"

# What a scan reads with each scope it cannot do without.
NEEDED_SCOPES = {
    "crm.objects.deals.read": "deals and pipelines",
    "crm.objects.owners.read": "owners (the users table)",
    "crm.schemas.deals.read": "deal property definitions (the typed columns)",
}

# Deals/s of full scans of 95,000 deals with every property into DuckDB, from docs/benchmarks.md's
# Benchmarks: throttled to 100 and to 190 requests per 10 s, and unthrottled (the machine's
# own ceiling). A scan reads by list and search at once, so it beats the list bucket alone.
MEASURED_DEALS_PER_SECOND = {100: 1_879.0, 190: 2_979.0}
UNTHROTTLED_DEALS_PER_SECOND = 12_474.0
SEARCH_DEALS_PER_SECOND = 1_000.0  # 5 search requests/s of 200 deals, on every tier
LIST_DEALS_PER_REQUEST = 100
SCAN_EFFICIENCY = 0.94  # the lower of the two measured shares of list + search's ceiling


def missing_scopes_message(missing: list[str]) -> str:
    needs = "; ".join(f"{scope} (for {NEEDED_SCOPES[scope]})" for scope in missing)
    return f"the token lacks {needs}: add it to the app's scopes and use its new token"


@dataclass
class ConnectionReport:
    token_kind: str  # "private app" or "OAuth access token"
    portal_id: int
    app_id: int | None
    scopes: list[str]
    deals: int | None = None  # live deals (the search API's total)
    rate_limit: dict[str, int] = field(default_factory=dict)

    @property
    def missing_scopes(self) -> list[str]:
        return [scope for scope in NEEDED_SCOPES if scope not in self.scopes]

    @property
    def per_ten_seconds(self) -> int | None:
        limit, interval_ms = self.rate_limit.get("max"), self.rate_limit.get("interval_ms")
        return round(limit * 10_000 / interval_ms) if limit and interval_ms else None

    @property
    def pace_measured(self) -> bool:
        """Whether `deals_per_second` was measured at this limit, not estimated."""
        return self.per_ten_seconds in MEASURED_DEALS_PER_SECOND

    @property
    def deals_per_second(self) -> float | None:
        """A full scan's expected pace at this token's ten-secondly limit."""
        per_ten_seconds = self.per_ten_seconds
        if per_ten_seconds is None:
            return None
        if per_ten_seconds in MEASURED_DEALS_PER_SECOND:
            return MEASURED_DEALS_PER_SECOND[per_ten_seconds]
        ceiling = per_ten_seconds / 10 * LIST_DEALS_PER_REQUEST + SEARCH_DEALS_PER_SECOND
        return min(ceiling * SCAN_EFFICIENCY, UNTHROTTLED_DEALS_PER_SECOND)

    @property
    def full_scan_seconds(self) -> float | None:
        pace = self.deals_per_second
        return None if pace is None or self.deals is None else self.deals / pace


def describe_token(client: HubSpotClient, token: str) -> ConnectionReport:
    """The token's kind, portal and scopes; HubSpotAuthenticationError when HubSpot knows it
    as neither a private app's token nor an OAuth access token."""
    try:
        info = client.post(PRIVATE_APP_TOKEN_INFO, {"tokenKey": token})
        return ConnectionReport(
            "private app", int(info["hubId"]), info.get("appId"), sorted(info["scopes"])
        )
    except HubSpotError as exc:  # HubSpot's answer to an unknown key is not documented
        if exc.status is None:  # unreachable: asking again by the other endpoint won't help
            raise
    try:
        info = client.get(OAUTH_TOKEN_INFO + token)
        return ConnectionReport(
            "OAuth access token", int(info["hub_id"]), info.get("app_id"), sorted(info["scopes"])
        )
    except HubSpotError as exc:
        if isinstance(exc, HubSpotRequestError) and exc.status is None:
            raise HubSpotRequestError(
                "HubSpot stopped answering while the token was checked", status=None
            ) from None
    raise HubSpotAuthenticationError(
        "HubSpot does not know this token (not a private app's, not an OAuth access token): "
        "it is mistyped, revoked or expired",
        status=401,
    )


def check_connection(client: HubSpotClient, token: str) -> ConnectionReport:
    """Everything `doctor` reports. Without a needed scope, only the token's description: the
    deal count and the limits need the scopes a scan needs."""
    report = describe_token(client, token)
    if report.missing_scopes:
        return report
    search: dict[str, Any] = client.post(
        "/crm/v3/objects/deals/search", {"limit": 1, "properties": ["hs_object_id"]}
    )
    report.deals = int(search["total"])
    client.get("/crm/v3/objects/deals", {"limit": 1, "properties": "hs_object_id"})
    report.rate_limit = dict(client.rate_limit)  # search answers carry no limit headers
    return report
