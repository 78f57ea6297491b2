"""A scan through Dagster against an independent HubSpot stand-in loads every deal exactly."""

from datetime import UTC, date, datetime

from dagster import AssetKey, DagsterInstance

from hubspot_deals.defs.launch import execute_scan
from hubspot_deals.scan import scan_run_config
from hubspot_deals_tests.conftest import fake_token, scan_rows
from hubspot_deals_tests.source.standin import StandIn


def _expected(deal: dict) -> dict:
    p = deal["properties"]

    def ts(v: str | None) -> datetime | None:
        return datetime.fromisoformat(v) if v else None

    return {
        "id": deal["id"],
        "dealname": p["dealname"],
        "amount": float(p["amount"]) if p["amount"] else None,
        "closedate": ts(p["closedate"]),
        "dealstage": p["dealstage"],
        "createdate": ts(p["createdate"]),
        "is_hot": {"true": True, "false": False}.get(p["is_hot"]),
        "renewal_date": date.fromisoformat(p["renewal_date"]) if p["renewal_date"] else None,
        "score": float(p["score"]) if p["score"] else None,
        "notes": p["notes"],
        "archived": deal["archived"],
    }


def test_full_scan_of_standin_loads_every_live_deal_exactly(
    instance: DagsterInstance, monkeypatch
) -> None:
    token = fake_token()
    with StandIn(token) as standin:
        monkeypatch.setenv("HUBSPOT_API_BASE_URL", standin.base_url)
        outcome = execute_scan(instance, "standin-1", scan_run_config("org-a", token))
        assert outcome.success, outcome.error
        rows = scan_rows("deals", "standin-1")
        live = standin.live()
        assert len(rows) == len(live) == 225
        got = [{k: r[k] for k in _expected(live[0])} for r in rows]
        for r in got:
            for k in ("closedate", "createdate"):
                if r[k] is not None:
                    r[k] = r[k].astimezone(UTC)
        assert got == [_expected(d) for d in sorted(live, key=lambda d: d["id"])]
        assert {r["_organization_id"] for r in rows} == {"org-a"}
        assert [u["email"] for u in scan_rows("users", "standin-1")] == ["ann@example.com"]
        stages = scan_rows("pipeline_stages", "standin-1", order_by="display_order")
        assert [(s["id"], s["is_closed"], s["probability"]) for s in stages] == [
            ("appointmentscheduled", False, 0.5),
            ("qualifiedtobuy", False, 0.5),
            ("closedwon", True, 0.5),
            ("closedlost", True, 0.5),
        ]
        # 12 property definitions in the stand-in, all loaded.
        assert len(scan_rows("deal_properties", "standin-1", order_by="name")) == 12
        # The list API: 3 pages of 100 for 225 live deals.
        assert standin.requests.count("GET /crm/v3/objects/deals") == 3
    mat = instance.get_latest_materialization_event(AssetKey(["hubspot", "deals"]))
    assert mat.asset_materialization.partition == "standin-1"
    meta = mat.asset_materialization.metadata
    assert meta["deals_extracted"].value == 225
    assert meta["read_strategy"].value == "list"
