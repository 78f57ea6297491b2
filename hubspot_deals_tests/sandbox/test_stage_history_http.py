"""`propertiesWithHistory=dealstage`: seeded stage walks consistent with each deal's pipeline and
current stage, HubSpot's page and batch limits, and moves made through the admin routes."""

from __future__ import annotations

import requests

from hubspot_deals_tests.sandbox.conftest import Sandbox, make_token
from hubspot_sandbox.catalog import PIPELINES
from hubspot_sandbox.process import SandboxServer
from hubspot_sandbox.timestamps import ms_from_iso

STAGES_OF = {p.id: [s.id for s in p.stages] for p in PIPELINES}


def test_every_walk_ends_in_the_current_stage_within_the_deals_lifetime(sandbox: Sandbox) -> None:
    acc, history = sandbox.account, sandbox.crm.history
    params = {"limit": "50", "propertiesWithHistory": "dealstage",
              "properties": "dealstage,pipeline"}  # fmt: skip
    deals: list[dict] = []
    while True:
        body = sandbox.get("/crm/v3/objects/deals", params=params).json()
        assert len(body["results"]) <= 50
        deals += body["results"]
        if "paging" not in body:
            break
        params["after"] = body["paging"]["next"]["after"]
    assert len(deals) == acc.live_count
    transitions = reentries = 0
    for deal in deals:
        props = deal["properties"]
        entries = deal["propertiesWithHistory"]["dealstage"]
        assert entries == history.entries(acc.index_of(deal["id"]))
        assert entries[0]["value"] == props["dealstage"]  # newest first
        assert {e["value"] for e in entries} <= set(STAGES_OF[props["pipeline"]])
        stamps = [ms_from_iso(e["timestamp"]) for e in entries]
        assert stamps == sorted(stamps, reverse=True)
        assert stamps[-1] == ms_from_iso(props["createdate"])
        assert stamps[0] <= ms_from_iso(props["hs_lastmodifieddate"])
        values = [e["value"] for e in entries]
        transitions += len(values)
        reentries += len(values) != len(set(values))
    assert (transitions, reentries) == (6_032, 155)


def test_history_on_get_and_batch_read_and_its_limits(sandbox: Sandbox) -> None:
    acc, history = sandbox.account, sandbox.crm.history
    deal_id = acc.live_deal_ids()[7]
    got = sandbox.get(
        f"/crm/v3/objects/deals/{deal_id}",
        params={"propertiesWithHistory": "dealstage,nosuchproperty"},
    ).json()
    assert got["propertiesWithHistory"] == {"dealstage": history.entries(acc.index_of(deal_id))}
    ids = acc.live_deal_ids()[:51]
    body = {"inputs": [{"id": i} for i in ids], "propertiesWithHistory": ["dealstage"]}
    too_many = sandbox.post("/crm/v3/objects/deals/batch/read", body)
    assert too_many.status_code == 400 and "50" in too_many.json()["message"]
    body["inputs"] = body["inputs"][:50]
    read = sandbox.post("/crm/v3/objects/deals/batch/read", body).json()
    assert [r["propertiesWithHistory"]["dealstage"] for r in read["results"]] == [
        history.entries(acc.index_of(i)) for i in ids[:50]]  # fmt: skip
    assert sandbox.get("/crm/v3/objects/deals", params={
        "limit": "100", "propertiesWithHistory": "dealstage"}).json()["paging"]  # fmt: skip


def test_admin_stage_moves_grow_the_history() -> None:
    token = make_token()
    with SandboxServer(deals=300, seed=5, tokens=[token]) as server, requests.Session() as s:
        acc = server.account()
        deal_id = acc.live_deal_ids()[10]
        url = server.url(f"/crm/v3/objects/deals/{deal_id}")
        params = {"propertiesWithHistory": "dealstage", "properties": "dealstage,pipeline"}
        headers = {"Authorization": f"Bearer {token}"}
        before = s.get(url, params=params, headers=headers).json()["propertiesWithHistory"]
        moved = server.admin(
            "POST",
            "deals/move-stage",
            {"ids": [deal_id], "stage": "148302414", "movedAt": "2026-07-03T10:00:00Z"},
        )
        assert moved == {"moved": 1, "movedAt": "2026-07-03T10:00:00.000Z"}  # fmt: skip
        server.admin("POST", "deals/modify", {"ids": [deal_id], "properties": {
            "dealstage": "148302415"}, "modifiedAt": "2026-07-04T10:00:00Z"})  # fmt: skip
        after = s.get(url, params=params, headers=headers).json()
        entries = after["propertiesWithHistory"]["dealstage"]
        assert [(e["value"], e["timestamp"]) for e in entries[:2]] == [
            ("148302415", "2026-07-04T10:00:00.000Z"),
            ("148302414", "2026-07-03T10:00:00.000Z"),
        ]
        assert entries[2:] == before["dealstage"]  # fmt: skip
        assert after["properties"]["dealstage"] == "148302415"
        assert after["properties"]["pipeline"] == "75302811"
        assert after["updatedAt"] == "2026-07-04T10:00:00.000Z"


def test_hs_v2_stage_properties_follow_the_history(sandbox: Sandbox) -> None:
    acc, history = sandbox.account, sandbox.crm.history
    prefixes = ("hs_v2_date_entered_", "hs_v2_date_exited_", "hs_v2_latest_time_in_",
                "hs_v2_cumulative_time_in_")  # fmt: skip
    stage_names = [f"{prefix}{stage}" for stage in STAGES_OF["default"] for prefix in prefixes]
    params = {"limit": "100", "properties": ",".join(["dealstage", "pipeline", *stage_names])}
    deals = sandbox.get("/crm/v3/objects/deals", params=params).json()["results"]
    in_default = 0
    for deal in deals:
        props = deal["properties"]
        index = acc.index_of(deal["id"])
        assert {k: props[k] for k in stage_names} == history.stage_properties(index, stage_names)
        if props["pipeline"] != "default":
            assert {props[k] for k in stage_names} == {None}
            continue
        in_default += 1
        current = props["dealstage"]
        newest = history.entries(index)[0]
        assert props[f"hs_v2_date_entered_{current}"] == newest["timestamp"]
        assert props[f"hs_v2_date_exited_{current}"] is None
        for stage in STAGES_OF["default"]:
            entered, exited = (
                props[f"hs_v2_date_entered_{stage}"],
                props[f"hs_v2_date_exited_{stage}"],
            )
            if exited is not None and entered < exited:
                assert int(props[f"hs_v2_latest_time_in_{stage}"]) == (
                    ms_from_iso(exited) - ms_from_iso(entered))  # fmt: skip
    assert in_default == 59
    listed = {d["name"] for d in sandbox.get("/crm/v3/properties/deals").json()["results"]}
    assert not {n for n in listed if n.startswith("hs_v2_")}
    batch = sandbox.post(
        "/crm/v3/objects/deals/batch/read",
        {"inputs": [{"id": deals[0]["id"]}], "properties": stage_names[:2]},
    ).json()
    assert batch["results"][0]["properties"][stage_names[0]] == deals[0]["properties"][
        stage_names[0]]  # fmt: skip
