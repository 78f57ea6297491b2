"""`/__sandbox/` control routes (not HubSpot's): health, stats, tokens and deal changes.

No authentication, no faults, no rate limits, not counted in the stats. Bodies are JSON; errors
use HubSpot's error shape with category VALIDATION_ERROR (400) or OBJECT_NOT_FOUND (404).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hubspot_sandbox import errors
from hubspot_sandbox.account import InvalidChange, UnknownDeal
from hubspot_sandbox.admin_objects import OBJECT_ROUTE, ObjectAdmin
from hubspot_sandbox.auth import parse_token_spec
from hubspot_sandbox.exchange import ApiError, Reply, Request
from hubspot_sandbox.records import UnknownRecord
from hubspot_sandbox.stats import Stats
from hubspot_sandbox.timestamps import ms_from_filter_value

if TYPE_CHECKING:
    from hubspot_sandbox.app import SandboxApp

_REVOKE = re.compile(r"/__sandbox/tokens/(?P<token>[^/]+)/revoke")


class AdminRoutes:
    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.objects = ObjectAdmin(app)
        self._routes: dict[tuple[str, str], Callable[[Request], Reply]] = {
            ("GET", "/__sandbox/health"): self.health,
            ("GET", "/__sandbox/stats"): self.stats,
            ("POST", "/__sandbox/stats/reset"): self.reset_stats,
            ("GET", "/__sandbox/account"): self.account,
            ("POST", "/__sandbox/tokens"): self.add_token,
            ("POST", "/__sandbox/deals/modify"): self.modify,
            ("POST", "/__sandbox/deals/archive"): self.archive,
            ("POST", "/__sandbox/deals/bulk-edit"): self.bulk_edit,
            ("POST", "/__sandbox/deals/create"): self.create,
            ("POST", "/__sandbox/conditions"): self.conditions,
            ("POST", "/__sandbox/deals/move-stage"): lambda r: self.objects.move_stage(
                r, self._body(r)
            ),
            ("POST", "/__sandbox/associations"): lambda r: self.objects.associate(r, self._body(r)),
        }

    def handle(self, request: Request) -> Reply:
        cid = request.correlation_id
        handler = self._routes.get((request.method, request.path.rstrip("/")))
        revoke = _REVOKE.fullmatch(request.path)
        objects = OBJECT_ROUTE.fullmatch(request.path)
        try:
            if handler is not None:
                return handler(request)
            if objects is not None and request.method == "POST":
                return self.objects.objects(request, objects, self._body(request))
            if revoke is not None and request.method == "POST":
                return self.revoke(request, revoke["token"])
            return Reply(
                404, errors.not_found(cid, f"No admin route {request.method} {request.path}")
            )
        except ApiError as exc:
            return Reply(exc.status, exc.body)
        except (InvalidChange, ValueError, TypeError) as exc:
            return Reply(400, errors.validation(str(exc), cid))
        except UnknownDeal as exc:
            return Reply(404, errors.not_found(cid, f"No deal with id {exc}"))
        except UnknownRecord as exc:
            return Reply(404, errors.not_found(cid, f"No record with id {exc}"))

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        body = request.json()
        if not isinstance(body, dict):
            raise ValueError("the request body must be a JSON object")
        return body

    @staticmethod
    def _ms(body: dict[str, Any], key: str) -> int | None:
        value = body.get(key)
        return None if value is None else ms_from_filter_value(value)

    @staticmethod
    def _ids(body: dict[str, Any]) -> list[str]:
        ids = body.get("ids")
        if not isinstance(ids, list):
            raise ValueError("'ids' must be an array of deal ids")
        return [str(i) for i in ids]

    def health(self, request: Request) -> Reply:
        return Reply(200, {"status": "ok"})

    def stats(self, request: Request) -> Reply:
        snapshot = self.app.stats.snapshot()
        snapshot.update(self.app.limiter.usage())
        return Reply(200, snapshot)

    def reset_stats(self, request: Request) -> Reply:
        self.app.stats = Stats()
        if request.flag("limits"):
            self.app.limiter.reset()
        return Reply(200, {"reset": True})

    # Serving conditions a test may change while the sandbox runs: body key -> config field.
    _CONDITIONS = {
        "faultRate": ("fault_rate", float),
        "faultSeed": ("fault_seed", int),
        "latencyMs": ("latency_ms", float),
        "rateLimit": ("rate_limit", int),
        "rateLimitWindowMs": ("rate_limit_window_ms", int),
    }
    # ...and those that take one of a few words: body key -> (config field, the words).
    _CHOICES = {"searchBucket": ("search_bucket", ("separate", "shared"))}

    def conditions(self, request: Request) -> Reply:
        body = self._body(request)
        known = sorted([*self._CONDITIONS, *self._CHOICES, "holdFromDeal", "failAfterWrites"])
        unknown = sorted(set(body) - set(known))
        if unknown:
            raise ValueError(f"unknown conditions {unknown}; known: {known}")
        fail_after = body.pop("failAfterWrites", self.app.fail_after_writes)
        if isinstance(fail_after, bool) or not isinstance(fail_after, int) or fail_after < 0:
            raise ValueError("'failAfterWrites' must be a non-negative integer")
        hold = body.pop("holdFromDeal", self.app.hold_from_deal)
        if hold is not None and (isinstance(hold, bool) or not isinstance(hold, int) or hold < 0):
            raise ValueError("'holdFromDeal' must be a non-negative integer or null")
        changes = {}
        for key, value in body.items():
            if key in self._CHOICES:
                field, words = self._CHOICES[key]
                if value not in words:
                    raise ValueError(f"'{key}' must be one of {list(words)}")
                changes[field] = value
                continue
            field, kind = self._CONDITIONS[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"'{key}' must be a non-negative number")
            changes[field] = kind(value)
        if not 0 <= changes.get("fault_rate", 0) <= 1:
            raise ValueError("'faultRate' must be between 0 and 1")
        self.app.set_conditions(**changes)
        self.app.hold_from_deal = hold
        self.app.fail_after_writes = fail_after
        config = self.app.config
        now = {
            key: getattr(config, field)
            for key, (field, _) in {**self._CONDITIONS, **self._CHOICES}.items()
        }
        return Reply(200, {**now, "holdFromDeal": hold, "failAfterWrites": fail_after})

    def account(self, request: Request) -> Reply:
        return Reply(200, {**self.app.account.summary(), "objects": self.app.crm.summary()})

    def add_token(self, request: Request) -> Reply:
        body = self._body(request)
        token = body.get("token")
        if not isinstance(token, str) or not token or ":" in token:
            raise ValueError("'token' must be a non-empty string without ':'")
        scopes = body.get("scopes")
        if scopes is not None and not (
            isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)
        ):
            raise ValueError("'scopes' must be an array of scope names or null (all scopes)")
        spec = token if scopes is None else f"{token}:{','.join(scopes)}"
        self.app.tokens.add(*parse_token_spec(spec))
        return Reply(201, {"token": token, "scopes": scopes})

    def revoke(self, request: Request, token: str) -> Reply:
        if not self.app.tokens.revoke(token):
            return Reply(404, errors.not_found(request.correlation_id, "unknown token"))
        return Reply(200, {"revoked": True})

    def modify(self, request: Request) -> Reply:
        """{"ids": [...], "properties": {...}, "modifiedAt"?: ISO or epoch ms}"""
        body = self._body(request)
        properties = body.get("properties")
        if not isinstance(properties, dict):
            raise ValueError("'properties' must be an object")
        count, stamp = self.app.account.modify(
            self._ids(body), properties, self._ms(body, "modifiedAt")
        )
        self.objects.record_stage_changes(self._ids(body), properties, stamp)
        return Reply(200, {"modified": count, "modifiedAt": stamp})

    def archive(self, request: Request) -> Reply:
        """{"ids": [...], "archivedAt"?: ISO or epoch ms}; hs_lastmodifieddate is not bumped."""
        body = self._body(request)
        archived = self.app.account.archive(self._ids(body), self._ms(body, "archivedAt"))
        return Reply(200, {"archived": len(archived), "ids": archived})

    def bulk_edit(self, request: Request) -> Reply:
        """{"property": name, "value": v, "count": N | "ids": [...], "modifiedAt"?}: one shared
        hs_lastmodifieddate for every edited deal."""
        body = self._body(request)
        name = body.get("property")
        if not isinstance(name, str):
            raise ValueError("'property' must be a property name")
        ids = self._ids(body) if "ids" in body else None
        count = body.get("count")
        if ids is None and not isinstance(count, int):
            raise ValueError("give 'count' (first N live deals) or 'ids'")
        edited, stamp = self.app.account.bulk_edit(
            name, body.get("value"), count, ids, self._ms(body, "modifiedAt")
        )
        if name == "dealstage":
            edited_ids = ids or self.app.account.live_deal_ids()[:edited]
            self.objects.record_stage_changes(edited_ids, {name: body.get("value")}, stamp)
        return Reply(200, {"edited": edited, "modifiedAt": stamp})

    def create(self, request: Request) -> Reply:
        """{"deals": [{"properties": {...}}, ...] | "count": N, "createdAt"?}"""
        body = self._body(request)
        deals = body.get("deals")
        if deals is None:
            count = body.get("count")
            if not isinstance(count, int) or count < 0:
                raise ValueError("give 'deals' (an array) or 'count'")
            deals = [{} for _ in range(count)]
        if not isinstance(deals, list):
            raise ValueError("'deals' must be an array")
        properties = []
        for deal in deals:
            props = deal.get("properties", {}) if isinstance(deal, dict) else None
            if not isinstance(props, dict):
                raise ValueError("each deal must be an object with 'properties'")
            properties.append(props)
        ids = self.app.account.create(properties, self._ms(body, "createdAt"))
        return Reply(201, {"ids": ids})
