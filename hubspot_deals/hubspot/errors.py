"""Exceptions raised by the HubSpot client; their messages never carry the token."""


class HubSpotError(Exception):
    """A HubSpot call failed for good."""

    category = "hubspot_error"

    def __init__(self, message: str, *, status: int | None = None, correlation_id: str = ""):
        suffix = f" (HubSpot correlation id {correlation_id})" if correlation_id else ""
        super().__init__(message + suffix)
        self.status = status
        self.correlation_id = correlation_id


class HubSpotAuthenticationError(HubSpotError):
    """401: the token is unknown, revoked or expired."""

    category = "authentication_error"


class HubSpotScopeError(HubSpotError):
    """403: the token lacks a scope the call needs."""

    category = "authorization_error"


class HubSpotRateLimitError(HubSpotError):
    """429 that waiting within this run cannot clear (the daily limit)."""

    category = "rate_limit_error"


class HubSpotRequestError(HubSpotError):
    """Another 4xx, or 5xx/connection failures past the retry budget."""

    category = "hubspot_request_error"
