"""The contacts API (hubspot-integration-api.md, "Contact Management Endpoints") over HubSpot's
CRM v3 contacts endpoints, for a tenant, with its own credentials (`hubspot_access`).

Writes are never duplicated by a retry. Updates and archives are repeatable (sending one twice
leaves the same contact), so the client retries them like reads. A create is sent once: when
HubSpot answers 5xx or the connection drops, the contact is looked up by its unique email, and
one created since the attempt began is the attempt's; only a contact that is not there is
created again. A bulk create does the same per batch of 100.

Every write is logged for audit on `api_shim.audit`: the API key, tenant, operation, contact
ids and outcome; never a token or a contact's personal data.
"""

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from api_shim.services.contact_errors import (
    ContactError,
    Uncertain,
    conflict,
    hubspot_call,
    item_error,
)
from api_shim.services.hubspot_access import HubSpotAccess

audit = logging.getLogger("api_shim.audit")

CONTACTS = "/crm/v3/objects/contacts"
DEFAULT_PROPERTIES = [
    *("firstname", "lastname", "email", "phone", "company", "website", "jobtitle"),
    *("createdate", "lastmodifieddate"),
]
# The contact fields of the document's bodies: a full update (PUT) clears those it omits.
CONTACT_FIELDS = ("email", "firstname", "lastname", "phone", "company", "website", "jobtitle")
CREATE_ATTEMPTS = 4
BATCH_SIZE = 100
# Errors of one contact (its values, its email, its id): the others of a bulk go on.
ITEM_STATUSES = frozenset({400, 404, 409})  # HubSpot's batch endpoints take 100 inputs per call


class ContactService:
    def __init__(self, access: HubSpotAccess) -> None:
        self.access = access

    # -- reads ----------------------------------------------------------------------------------

    def get(self, tenant: str, contact_id: str, properties: Sequence[str] | None) -> dict:
        found = hubspot_call(
            self.access,
            tenant,
            lambda c: c.get(
                f"{CONTACTS}/{contact_id}",
                {"properties": ",".join(properties or DEFAULT_PROPERTIES)},
            ),
            contact_id=contact_id,
        )
        return {
            "id": found["id"],
            "properties": found.get("properties") or {},
            "createdAt": found.get("createdAt"),
            "updatedAt": found.get("updatedAt"),
        }

    def page(
        self,
        tenant: str,
        limit: int,
        after: str | None,
        properties: Sequence[str] | None,
        sort: str | None,
        order: str,
    ) -> dict:
        """A page in `sort` order (default: newest first), through HubSpot's search endpoint:
        its list endpoint neither sorts nor counts. `after` is the offset HubSpot's search
        pages by; `paging.prev.before` is the previous page's (pass it as `after`)."""
        offset = int(after or 0)
        body = {
            "limit": limit,
            "after": str(offset),
            "properties": list(properties or DEFAULT_PROPERTIES),
            "sorts": [
                {
                    "propertyName": sort or "createdate",
                    "direction": "ASCENDING" if order == "asc" else "DESCENDING",
                }
            ],
        }
        page = hubspot_call(self.access, tenant, lambda c: c.post(f"{CONTACTS}/search", body))
        paging: dict[str, Any] = {}
        following = (page.get("paging") or {}).get("next", {}).get("after")
        if following is not None:
            paging["next"] = {"after": str(following)}
        if offset > 0:
            paging["prev"] = {"before": str(max(0, offset - limit))}
        return {
            "results": [_summary(r) for r in page.get("results", [])],
            "paging": paging,
            "total": page.get("total", 0),
            "hasMore": following is not None,
        }

    def search(self, tenant: str, query: str, limit: int, properties: Sequence[str] | None) -> dict:
        wanted = list(properties or DEFAULT_PROPERTIES)
        body = {"query": query, "limit": limit, "properties": wanted}
        page = hubspot_call(self.access, tenant, lambda c: c.post(f"{CONTACTS}/search", body))
        return {
            "results": [_summary(r) for r in page.get("results", [])],
            "total": page.get("total", 0),
            "query": query,
        }

    # -- writes ---------------------------------------------------------------------------------

    def create(self, tenant: str, who: str | None, fields: dict[str, Any]) -> dict:
        started = time.time()
        created = self._create_once(tenant, fields, started)
        self._audit(who, tenant, "create", [created["id"]], "created")
        return {
            "id": created["id"],
            "success": True,
            "created": True,
            "properties": _set(created.get("properties")),
        }

    def update(
        self, tenant: str, who: str | None, contact_id: str, fields: dict[str, Any], full: bool
    ) -> dict:
        """PUT (`full`): the document's contact fields it omits are cleared; PATCH: only the
        fields it names change."""
        sent = dict(fields)
        if full:
            sent = {**{name: "" for name in CONTACT_FIELDS}, **sent}
        updated = hubspot_call(
            self.access,
            tenant,
            lambda c: c.write(
                "PATCH", f"{CONTACTS}/{contact_id}", {"properties": sent}, repeatable=True
            ),
            contact_id=contact_id,
        )
        self._audit(who, tenant, "replace" if full else "update", [contact_id], "updated")
        properties = updated.get("properties") or {}
        answer: dict[str, Any] = {"id": updated.get("id", contact_id), "success": True}
        answer["updated"] = True
        if not full:
            answer["updatedFields"] = list(fields)
        shown = [*fields, "lastmodifieddate"] if not full else [*sent, "lastmodifieddate"]
        answer["properties"] = {k: properties.get(k) for k in shown if k in properties}
        return answer

    def delete(self, tenant: str, who: str | None, contact_id: str) -> dict:
        # HubSpot answers 204 to archiving any id: read it first so a wrong id is a 404.
        hubspot_call(
            self.access,
            tenant,
            lambda c: c.get(f"{CONTACTS}/{contact_id}", {"properties": "email"}),
            contact_id=contact_id,
        )
        hubspot_call(
            self.access,
            tenant,
            lambda c: c.archive(f"{CONTACTS}/{contact_id}"),
            contact_id=contact_id,
        )
        self._audit(who, tenant, "delete", [contact_id], "deleted")
        return {
            "success": True,
            "deleted": True,
            "id": contact_id,
            "message": "Contact deleted successfully",
        }

    def bulk(
        self, tenant: str, who: str | None, operation: str, contacts: list[dict[str, Any]]
    ) -> dict:
        """Every input gets a result in its position; a batch HubSpot refuses as a whole is
        sent again item by item, so one bad contact fails alone. An error that is not the
        contact's own (credentials, HubSpot's limit past the request's patience, HubSpot down)
        stops the bulk: the contacts not yet carried out are reported failed with it, those
        carried out as done."""
        results: list[dict[str, Any]] = []
        run = {"create": self._bulk_create, "update": self._bulk_update}.get(
            operation, self._bulk_delete
        )
        try:
            for start in range(0, len(contacts), BATCH_SIZE):
                run(tenant, contacts[start : start + BATCH_SIZE], results)
        except ContactError as exc:
            error = item_error(exc)
            for item in contacts[len(results) :]:
                results.append({**_identity(operation, item), "success": False, "error": error})
        ok = [r for r in results if r["success"]]
        self._audit(
            who,
            tenant,
            f"bulk_{operation}",
            [r["id"] for r in ok if r.get("id")],
            f"{len(ok)} of {len(results)} succeeded",
        )
        return {
            "success": len(ok) == len(results),
            "operation": operation,
            "results": results,
            "summary": {
                "total": len(results),
                "successful": len(ok),
                "failed": len(results) - len(ok),
            },
        }

    # -- internals ------------------------------------------------------------------------------

    def _create_once(self, tenant: str, fields: dict[str, Any], started: float) -> dict:
        """Creates the contact exactly once: after an attempt of unknown outcome, the contact
        is looked up by email before another attempt."""
        email = str(fields.get("email", ""))
        for _ in range(CREATE_ATTEMPTS):
            try:
                return hubspot_call(
                    self.access,
                    tenant,
                    lambda c: c.write("POST", CONTACTS, {"properties": fields}, repeatable=False),
                )
            except Uncertain:
                found = self._by_email(tenant, [email]).get(email.lower())
                if found is not None:
                    if _created_since(found, started):
                        return found  # the attempt HubSpot did not confirm did create it
                    raise conflict(found["id"]) from None
        raise ContactError(
            503,
            "SERVICE_UNAVAILABLE",
            f"HubSpot failed {CREATE_ATTEMPTS} attempts to create the contact; none created it",
        )

    def _bulk_create(
        self, tenant: str, batch: list[dict[str, Any]], out: list[dict[str, Any]]
    ) -> None:
        started = time.time()
        inputs = {"inputs": [{"properties": item} for item in batch]}
        try:
            answer = hubspot_call(
                self.access,
                tenant,
                lambda c: c.write("POST", f"{CONTACTS}/batch/create", inputs, repeatable=False),
            )
        except Uncertain:
            # Which of them did HubSpot create before it failed? Those are done; the others
            # are created one by one.
            existing = self._by_email(tenant, [str(item.get("email", "")) for item in batch])
            made = {e: r for e, r in existing.items() if _created_since(r, started)}
            answer = {"results": list(made.values())}
        except ContactError as exc:
            if exc.status not in ITEM_STATUSES:
                raise
            answer = {"results": []}  # refused as a whole (e.g. one duplicate email)
        created = {
            str((r.get("properties") or {}).get("email", "")).lower(): r
            for r in answer.get("results", [])
        }
        for item in batch:
            found = created.get(str(item.get("email", "")).lower())
            if found is not None:
                out.append({"id": found["id"], "success": True, "email": item.get("email")})
            else:
                # Not created in the batch (HubSpot's error for it, or the batch refused):
                # alone, it gets its own answer (CONTACT_EXISTS with the existing id, ...).
                out.append(self._create_item(tenant, item, started))

    def _create_item(self, tenant: str, item: dict[str, Any], started: float) -> dict[str, Any]:
        try:
            created = self._create_once(tenant, item, started)
        except ContactError as exc:
            if exc.status not in ITEM_STATUSES:
                raise
            return {"success": False, "email": item.get("email"), "error": item_error(exc)}
        return {"id": created["id"], "success": True, "email": item.get("email")}

    def _bulk_update(
        self, tenant: str, batch: list[dict[str, Any]], out: list[dict[str, Any]]
    ) -> None:
        inputs = {
            "inputs": [
                {"id": str(item["id"]), "properties": {k: v for k, v in item.items() if k != "id"}}
                for item in batch
            ]
        }
        try:
            answer = hubspot_call(
                self.access,
                tenant,
                lambda c: c.write("POST", f"{CONTACTS}/batch/update", inputs, repeatable=True),
            )
        except ContactError as exc:
            if exc.status not in ITEM_STATUSES:
                raise
            answer = {"results": []}  # refused as a whole (e.g. an unknown id)
        updated = {str(r["id"]) for r in answer.get("results", [])}
        for item in batch:
            contact_id = str(item["id"])
            if contact_id in updated:
                out.append({"id": contact_id, "success": True})
            else:
                out.append(self._update_item(tenant, contact_id, item))

    def _update_item(self, tenant: str, contact_id: str, item: dict[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in item.items() if k != "id"}
        try:
            hubspot_call(
                self.access,
                tenant,
                lambda c: c.write(
                    "PATCH", f"{CONTACTS}/{contact_id}", {"properties": fields}, repeatable=True
                ),
                contact_id=contact_id,
            )
        except ContactError as exc:
            if exc.status not in ITEM_STATUSES:
                raise
            return {"id": contact_id, "success": False, "error": item_error(exc)}
        return {"id": contact_id, "success": True}

    def _bulk_delete(
        self, tenant: str, batch: list[dict[str, Any]], out: list[dict[str, Any]]
    ) -> None:
        ids = [str(item["id"]) for item in batch]
        body = {"inputs": [{"id": i} for i in ids], "properties": ["email"]}
        found = hubspot_call(self.access, tenant, lambda c: c.post(f"{CONTACTS}/batch/read", body))
        present = {str(r["id"]) for r in found.get("results", [])}
        archive = {"inputs": [{"id": i} for i in ids if i in present]}
        if archive["inputs"]:
            hubspot_call(
                self.access,
                tenant,
                lambda c: c.write("POST", f"{CONTACTS}/batch/archive", archive, repeatable=True),
            )
        missing = {"code": "CONTACT_NOT_FOUND", "message": "Contact not found"}
        for i in ids:
            ok = i in present
            out.append({"id": i, "success": True} if ok else {"id": i, "success": False,
                                                              "error": missing})  # fmt: skip

    def _by_email(self, tenant: str, emails: list[str]) -> dict[str, dict]:
        """Contacts by email (lower case), read by HubSpot's unique `email` id property."""
        wanted = [e for e in dict.fromkeys(emails) if e]
        if not wanted:
            return {}
        body = {
            "idProperty": "email",
            "inputs": [{"id": e} for e in wanted],
            "properties": ["email", "createdate"],
        }
        found = hubspot_call(self.access, tenant, lambda c: c.post(f"{CONTACTS}/batch/read", body))
        return {
            str((r.get("properties") or {}).get("email", "")).lower(): r
            for r in found.get("results", [])
        }

    @staticmethod
    def _audit(who: str | None, tenant: str, operation: str, ids: list[str], result: str) -> None:
        shown = ",".join(ids[:20]) + (f",... ({len(ids)} in all)" if len(ids) > 20 else "")
        audit.info(
            "contacts %s key=%s tenant=%s ids=%s result=%s",
            operation,
            who or "open-access",
            tenant,
            shown or "-",
            result,
        )


def _summary(record: dict) -> dict:
    return {"id": record["id"], "properties": _set(record.get("properties"))}


def _set(properties: dict | None) -> dict:
    """The properties that have a value (HubSpot lists every requested one, null or not)."""
    return {k: v for k, v in (properties or {}).items() if v not in (None, "")}


def _created_since(record: dict, started: float) -> bool:
    created = (record.get("properties") or {}).get("createdate") or record.get("createdAt")
    if not created:
        return False
    at = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    # HubSpot's clock and ours: a minute of slack either way.
    return at.astimezone(UTC).timestamp() >= started - 60


def _identity(operation: str, item: dict[str, Any]) -> dict[str, Any]:
    """How a bulk result names its contact: the email for a create, else the id."""
    return {"email": item.get("email")} if operation == "create" else {"id": item.get("id")}
