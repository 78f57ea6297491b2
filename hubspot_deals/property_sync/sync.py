"""Comparing definitions with HubSpot's properties, and making HubSpot match them.

Per property, one outcome:
- `created`: HubSpot did not have it (made with the batch create endpoint, 100 per call);
- `updated`: HubSpot had it with another label, field type, group, description or options
  (PATCHed with what differs);
- `skipped`: HubSpot has it as defined;
- `conflict`: HubSpot has it and it cannot be made to match without harm: HubSpot defines it
  (`hubspotDefined`), or it has another `type` (changing a type can lose values). Reported,
  never forced;
- `failed`: HubSpot refused the change (its message is kept).

A group the definitions name that HubSpot lacks is created first. A create met by a 5xx or a
lost connection is not sent again blindly: the property is read back, and only a missing one is
created again (`HubSpotClient.write`, `repeatable=False`).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hubspot_deals.property_sync.definitions import PropertyDefinition
from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.errors import HubSpotError, HubSpotWriteUncertain

BATCH_SIZE = 100
OUTCOMES = ("created", "updated", "skipped", "conflict", "failed")


@dataclass
class PropertyOutcome:
    name: str
    label: str
    outcome: str
    detail: str = ""
    changed: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"name": self.name, "label": self.label, "outcome": self.outcome}
        if self.detail:
            answer["detail"] = self.detail
        if self.changed:
            answer["changed"] = list(self.changed)
        return answer


@dataclass
class SyncReport:
    object_type: str
    properties: list[PropertyOutcome] = field(default_factory=list)
    hubspot_requests: int = 0
    seconds: float = 0.0

    def count(self, outcome: str) -> int:
        return sum(1 for p in self.properties if p.outcome == outcome)

    @property
    def in_sync(self) -> bool:
        """Nothing left to do and nothing refused: HubSpot matches the definitions."""
        return all(p.outcome == "skipped" for p in self.properties)

    def as_dict(self) -> dict[str, Any]:
        return {
            "object_type": self.object_type,
            **{outcome: self.count(outcome) for outcome in OUTCOMES},
            "properties": [p.as_dict() for p in self.properties],
            "hubspot_requests": self.hubspot_requests,
            "seconds": round(self.seconds, 3),
        }


def differences(wanted: PropertyDefinition, current: dict[str, Any]) -> dict[str, Any]:
    """The fields HubSpot's property must change to match `wanted` (PATCH body)."""
    body = wanted.as_hubspot()
    changed: dict[str, Any] = {}
    for key in ("label", "fieldType", "groupName", "description", "formField"):
        if body.get(key) != current.get(key, "" if key == "description" else None):
            changed[key] = body.get(key)
    if wanted.type in ("enumeration", "bool") and wanted.options:
        have = sorted(
            (
                str(o.get("value")),
                str(o.get("label")),
                int(o.get("displayOrder", 0)),
                bool(o.get("hidden", False)),
            )
            for o in current.get("options") or []
        )
        want = sorted((o.value, o.label, o.display_order, o.hidden) for o in wanted.options)
        if have != want:
            changed["options"] = body["options"]
    return changed


def check(
    client: HubSpotClient, object_type: str, definitions: list[PropertyDefinition]
) -> SyncReport:
    """What a sync would do, without changing HubSpot (`skipped` = in sync; the other outcomes
    name what differs). The asset check's question: does HubSpot match the definitions?"""
    return _run(client, object_type, definitions, apply=False)


def sync(
    client: HubSpotClient, object_type: str, definitions: list[PropertyDefinition]
) -> SyncReport:
    """Makes HubSpot match the definitions, as far as it safely can."""
    return _run(client, object_type, definitions, apply=True)


def _run(
    client: HubSpotClient,
    object_type: str,
    definitions: list[PropertyDefinition],
    apply: bool,
) -> SyncReport:
    started = time.monotonic()
    before = client.stats["requests"]
    report = SyncReport(object_type)
    current = {
        p["name"]: p for p in client.get(f"/crm/v3/properties/{object_type}").get("results", [])
    }
    to_create: list[PropertyDefinition] = []
    for wanted in definitions:
        have = current.get(wanted.name)
        if have is None:
            to_create.append(wanted)
            continue
        if have.get("hubspotDefined"):
            report.properties.append(
                PropertyOutcome(wanted.name, wanted.label, "conflict", "defined by HubSpot")
            )
        elif have.get("type") != wanted.type:
            report.properties.append(
                PropertyOutcome(
                    wanted.name,
                    wanted.label,
                    "conflict",
                    f"HubSpot has it as {have.get('type')!r}, the definition as {wanted.type!r}",
                )
            )
        elif changed := differences(wanted, have):
            if apply:
                report.properties.append(_update(client, object_type, wanted, changed))
            else:
                report.properties.append(
                    PropertyOutcome(wanted.name, wanted.label, "updated", "differs", tuple(changed))
                )
        else:
            report.properties.append(PropertyOutcome(wanted.name, wanted.label, "skipped"))
    if to_create and apply:
        _ensure_groups(client, object_type, to_create)
        report.properties += _create(client, object_type, to_create)
    elif to_create:
        report.properties += [
            PropertyOutcome(w.name, w.label, "created", "missing in HubSpot") for w in to_create
        ]
    order = {d.name: i for i, d in enumerate(definitions)}
    report.properties.sort(key=lambda p: order[p.name])
    report.hubspot_requests = client.stats["requests"] - before
    report.seconds = time.monotonic() - started
    return report


def _update(
    client: HubSpotClient, object_type: str, wanted: PropertyDefinition, changed: dict[str, Any]
) -> PropertyOutcome:
    path = f"/crm/v3/properties/{object_type}/{wanted.name}"
    try:
        client.write("PATCH", path, changed, repeatable=True)
    except HubSpotError as exc:
        return PropertyOutcome(wanted.name, wanted.label, "failed", _reason(exc))
    return PropertyOutcome(wanted.name, wanted.label, "updated", changed=tuple(changed))


def _ensure_groups(
    client: HubSpotClient, object_type: str, definitions: list[PropertyDefinition]
) -> None:
    path = f"/crm/v3/properties/{object_type}/groups"
    have = {g["name"] for g in client.get(path).get("results", [])}
    for definition in definitions:
        if definition.group_name in have:
            continue
        body = {"name": definition.group_name, "label": definition.group_label}
        _once(
            lambda b=body: client.write("POST", path, b, repeatable=False),
            lambda name=definition.group_name: any(
                g["name"] == name for g in client.get(path).get("results", [])
            ),
        )
        have.add(definition.group_name)


def _create(
    client: HubSpotClient, object_type: str, definitions: list[PropertyDefinition]
) -> list[PropertyOutcome]:
    outcomes: list[PropertyOutcome] = []
    path = f"/crm/v3/properties/{object_type}/batch/create"
    for start in range(0, len(definitions), BATCH_SIZE):
        batch = definitions[start : start + BATCH_SIZE]
        body = {"inputs": [d.as_hubspot() for d in batch]}
        try:
            answer = _once(
                lambda b=body: client.write("POST", path, b, repeatable=False),
                lambda names={d.name for d in batch}: (
                    names
                    <= {
                        p["name"]
                        for p in client.get(f"/crm/v3/properties/{object_type}")["results"]
                    }
                ),
            )
        except HubSpotError:
            # HubSpot refused the batch as a whole: each property alone, so each gets its own
            # answer.
            outcomes += [_create_one(client, object_type, d) for d in batch]
            continue
        made = {p["name"] for p in (answer or {}).get("results", [])} if answer else None
        for definition in batch:
            if made is None or definition.name in made:
                outcomes.append(PropertyOutcome(definition.name, definition.label, "created"))
            else:
                outcomes.append(_create_one(client, object_type, definition))
    return outcomes


def _create_one(
    client: HubSpotClient, object_type: str, definition: PropertyDefinition
) -> PropertyOutcome:
    path = f"/crm/v3/properties/{object_type}"
    try:
        _once(
            lambda: client.write("POST", path, definition.as_hubspot(), repeatable=False),
            lambda: _exists(client, object_type, definition.name),
        )
    except HubSpotError as exc:
        return PropertyOutcome(definition.name, definition.label, "failed", _reason(exc))
    return PropertyOutcome(definition.name, definition.label, "created")


def _exists(client: HubSpotClient, object_type: str, name: str) -> bool:
    try:
        client.get(f"/crm/v3/properties/{object_type}/{name}")
    except HubSpotError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def _once(write: Callable[[], Any], done: Callable[[], bool], attempts: int = 4) -> Any:
    """`write`, sent again after an unknown outcome only when `done()` says it did not take.
    Returns the write's answer, or None when a lost answer turned out to have taken."""
    for attempt in range(attempts):
        try:
            return write()
        except HubSpotWriteUncertain:
            if done():
                return None
            if attempt == attempts - 1:
                raise
    return None


def _reason(exc: HubSpotError) -> str:
    body = getattr(exc, "body", {}) or {}
    return str(body.get("message") or exc)[:300]
