"""Exceptions raised by the HubSpot client; their messages never carry the token."""


class HubSpotError(Exception):
    """A HubSpot call failed for good."""

    category = "hubspot_error"
    # Whether running the scan again later can succeed without anyone changing anything.
    transient = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        correlation_id: str = "",
        body: dict | None = None,
    ):
        suffix = f" (HubSpot correlation id {correlation_id})" if correlation_id else ""
        super().__init__(message + suffix)
        self.status = status
        self.correlation_id = correlation_id
        # HubSpot's JSON error body (category, errors, context), for callers that answer
        # per field or per item; never logged whole (it may echo the values sent).
        self.body = body or {}


class HubSpotAuthenticationError(HubSpotError):
    """401: the token is unknown, revoked or expired."""

    category = "authentication_error"
    transient = False


class HubSpotScopeError(HubSpotError):
    """403: the token lacks a scope the call needs."""

    category = "authorization_error"
    transient = False


class HubSpotRateLimitError(HubSpotError):
    """429 that waiting within this run cannot clear (the daily limit)."""

    category = "rate_limit_error"
    transient = False  # the daily limit resets at midnight: resuming now would fail again


class HubSpotRequestError(HubSpotError):
    """Another 4xx, or 5xx/connection failures past the retry budget."""

    category = "hubspot_request_error"

    @property
    def transient(self) -> bool:  # type: ignore[override]
        return self.status is None or self.status >= 500


class HubSpotWriteUncertain(HubSpotRequestError):
    """A write that is not safe to repeat (a create) met a 5xx or a lost connection: HubSpot
    may or may not have carried it out. The client never sends it again on its own; the caller
    finds out (e.g. reads the contact by its unique email) before it writes again."""

    category = "hubspot_write_uncertain"
