"""Expected column values, computed from HubSpot's wire strings independently of the code."""

from datetime import date, datetime
from typing import Any

import requests


def typed(definition: dict[str, Any], raw: str | None) -> Any:
    """HubSpot's wire string as the column value this project promises."""
    kind = definition["type"]
    if kind in ("string", "enumeration", "phone_number") and not (
        kind == "enumeration" and definition["fieldType"] == "booleancheckbox"
    ):
        return raw
    if raw in (None, ""):
        return None
    if kind == "number":
        return float(raw)
    if kind == "datetime":
        return datetime.fromisoformat(raw)
    if kind == "date":
        return date.fromisoformat(raw)
    return {"true": True, "false": False}[raw]


def hubspot_deals_now(base_url: str, token: str) -> list[dict[str, Any]]:
    """Every deal of a HubSpot (stand-in) account as it is now, live and archived, over HTTP."""
    headers = {"Authorization": f"Bearer {token}"}
    definitions = requests.get(
        base_url + "/crm/v3/properties/deals", headers=headers, timeout=30
    ).json()["results"]
    names = ",".join(d["name"] for d in definitions)
    deals = []
    for archived in ("false", "true"):
        params = {"limit": 100, "archived": archived, "properties": names}
        while True:
            body = requests.get(
                base_url + "/crm/v3/objects/deals", params=params, headers=headers, timeout=30
            ).json()
            deals += body["results"]
            after = body.get("paging", {}).get("next", {}).get("after")
            if not after:
                break
            params["after"] = after
    return deals
