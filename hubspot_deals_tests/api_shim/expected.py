"""The stand-in's deals as the results API must return them: typed JSON values."""

from datetime import UTC, date, datetime
from typing import Any

# A full scan (archived deals included) of the 400-deal stand-in: its rows in the tables the
# API must list. The code location may add tables; these five are always there.
KNOWN_TABLES = {
    "deals": {"name": "deals", "rowCount": 400, "extractedCount": 400},
    "users": {"name": "users", "rowCount": 1, "extractedCount": 1},
    "pipelines": {"name": "pipelines", "rowCount": 1, "extractedCount": 1},
    "pipeline_stages": {"name": "pipeline_stages", "rowCount": 4, "extractedCount": 4},
    "deal_properties": {"name": "deal_properties", "rowCount": 12, "extractedCount": 12},
}


def created(deal: dict[str, Any]) -> date:
    return datetime.fromisoformat(deal["properties"]["createdate"]).astimezone(UTC).date()


def ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def expected_record(deal: dict[str, Any]) -> dict[str, Any]:
    """A stand-in deal as the API returns it, typed (timestamps compared as datetimes)."""
    p = deal["properties"]
    return {
        "id": deal["id"],
        "dealname": p["dealname"],
        "amount": float(p["amount"]) if p["amount"] else None,
        "closedate": ts(p["closedate"]),
        "pipeline": p["pipeline"],
        "dealstage": p["dealstage"],
        "createdate": ts(p["createdate"]),
        "hs_lastmodifieddate": ts(p["hs_lastmodifieddate"]),
        "hs_object_id": float(p["hs_object_id"]),
        "is_hot": {"true": True, "false": False}.get(p["is_hot"]),
        "renewal_date": p["renewal_date"] or None,
        "score": float(p["score"]) if p["score"] else None,
        "notes": p["notes"],
        "archived": deal["archived"],
        "archived_at": ts(deal.get("archivedAt")),
        "created_at": ts(deal["createdAt"]),
        "updated_at": ts(deal["updatedAt"]),
    }


def as_received(record: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """An API record reduced to `keys`, its ISO timestamps (with `Z`) parsed for comparison."""
    out = {k: record[k] for k in keys}
    for key in ("closedate", "createdate", "hs_lastmodifieddate", "archived_at", "created_at",
                "updated_at"):  # fmt: skip
        if out[key] is not None:
            assert out[key].endswith("Z"), out[key]
            out[key] = datetime.fromisoformat(out[key])
    return out


def assert_known_tables(tables: list[dict[str, Any]]) -> None:
    by_name = {t["name"]: t for t in tables}
    assert {name: by_name.get(name) for name in KNOWN_TABLES} == KNOWN_TABLES
    assert [t["name"] for t in tables][:1] == ["deals"]
