"""List, get and batch-read deals, and the metadata routes, over real HTTP."""

from __future__ import annotations

import base64
import re
import time
import uuid
from pathlib import Path

import orjson
import pytest
import requests

from hubspot_deals_tests.sandbox.conftest import Sandbox, make_token
from hubspot_sandbox.account import ALWAYS_INCLUDED, DEFAULT_PROPERTIES
from hubspot_sandbox.crm_objects import CrmObjects
from hubspot_sandbox.process import SandboxServer

DEALS_PATH = "/crm/v3/objects/deals"


def walk(sandbox: Sandbox, params: dict[str, str], use_link: bool = False) -> list[dict]:
    """Every deal of a list query, following paging.next.after (or the link, literally)."""
    deals: list[dict] = []
    resp = sandbox.get(DEALS_PATH, params=params)
    while True:
        assert resp.status_code == 200, resp.text
        body = resp.json()
        deals += body["results"]
        if "paging" not in body:
            return deals
        nxt = body["paging"]["next"]
        if use_link:
            assert nxt["link"].startswith(sandbox.base_url + DEALS_PATH + "?")
            resp = sandbox.session.get(
                nxt["link"], headers={"Authorization": f"Bearer {sandbox.token}"}, timeout=30
            )
        else:
            resp = sandbox.get(DEALS_PATH, params={**params, "after": nxt["after"]})


def test_paging_returns_every_live_deal_exactly_once(sandbox: Sandbox) -> None:
    acc = sandbox.account
    everything = ",".join(acc.property_names())
    deals = walk(sandbox, {"limit": "100", "properties": everything})
    assert [d["id"] for d in deals] == acc.live_deal_ids()
    assert len(deals) == acc.live_count == 2_375
    assert deals == [acc.deal(acc.index_of(d["id"])) for d in deals]


def test_following_the_link_literally_keeps_the_query(sandbox: Sandbox) -> None:
    acc = sandbox.account
    deals = walk(sandbox, {"limit": "100", "properties": "dealname,amount,seats"}, use_link=True)
    assert [d["id"] for d in deals] == acc.live_deal_ids()
    assert all(
        set(d["properties"]) == {"dealname", "amount", "seats", *ALWAYS_INCLUDED} for d in deals
    )


def test_last_page_has_no_paging_and_cursor_is_opaque(sandbox: Sandbox) -> None:
    acc = sandbox.account
    first = sandbox.get(DEALS_PATH, params={"limit": "100"}).json()
    after = first["paging"]["next"]["after"]
    assert not after.isdigit() and base64.b64decode(after).decode() == acc.live_deal_ids()[100]
    last_id = acc.live_deal_ids()[-5]
    tail = sandbox.get(DEALS_PATH, params={"limit": "100", "after": last_id}).json()
    assert [d["id"] for d in tail["results"]] == acc.live_deal_ids()[-5:]
    assert "paging" not in tail


def test_limits_default_clamp_and_numeric_after(sandbox: Sandbox) -> None:
    acc = sandbox.account
    assert len(sandbox.get(DEALS_PATH).json()["results"]) == 10
    assert len(sandbox.get(DEALS_PATH, params={"limit": "150"}).json()["results"]) == 100
    start = acc.live_deal_ids()[51]
    page = sandbox.get(DEALS_PATH, params={"limit": "3", "after": start}).json()
    assert [d["id"] for d in page["results"]] == acc.live_deal_ids()[51:54]
    assert sandbox.get(DEALS_PATH, params={"limit": "0"}).status_code == 400
    bad = sandbox.get(DEALS_PATH, params={"after": "%%%"})
    assert bad.status_code == 400 and bad.json()["category"] == "VALIDATION_ERROR"


def test_archived_true_returns_only_archived_deals(sandbox: Sandbox) -> None:
    acc = sandbox.account
    deals = walk(sandbox, {"limit": "100", "archived": "true", "properties": "dealname"})
    assert [d["id"] for d in deals] == acc.archived_deal_ids()
    assert len(deals) == 125
    for deal in deals:
        expected = acc.deal(acc.index_of(deal["id"]), ["dealname"])
        assert deal == expected and deal["archived"] is True and deal["archivedAt"]


def test_property_selection_comma_repeated_mixed_unknown_and_default(sandbox: Sandbox) -> None:
    acc = sandbox.account
    names = ["dealname", "seats", "deal_region", "modules_included"]

    def page(query: str) -> list[dict]:
        resp = sandbox.get(f"{DEALS_PATH}?limit=20&{query}")
        assert resp.status_code == 200
        return resp.json()["results"]

    comma = page("properties=" + ",".join(names))
    repeated = page("&".join(f"properties={n}" for n in names))
    mixed = page("properties=dealname,seats&properties=deal_region&properties=modules_included")
    unknown = page("properties=" + ",".join([*names, "no_such_property"]))
    assert comma == repeated == mixed == unknown
    expected = [acc.deal(acc.index_of(i), names) for i in acc.live_deal_ids()[:20]]
    assert comma == expected
    assert set(comma[0]["properties"]) == {*names, *ALWAYS_INCLUDED}
    default = page("")
    assert all(set(d["properties"]) == set(DEFAULT_PROPERTIES) for d in default)
    only_unknown = page("properties=nope")
    assert set(only_unknown[0]["properties"]) == set(ALWAYS_INCLUDED)


def test_object_type_aliases_and_unknown_params(sandbox: Sandbox) -> None:
    query = "?limit=7&properties=dealname,amount"
    bodies = [
        sandbox.get(f"/crm/v3/objects/{kind}{query}").json()["results"]
        for kind in ("deals", "deal", "0-3")
    ]
    assert bodies[0] == bodies[1] == bodies[2]
    odd = sandbox.get(f"{DEALS_PATH}{query}&sort=asc&order_by=hs_lastmodifieddate&foo=bar")
    assert odd.status_code == 200 and odd.json()["results"] == bodies[0]
    deal_id = sandbox.account.live_deal_ids()[3]
    single = [sandbox.get(f"/crm/v3/objects/{k}/{deal_id}").json() for k in ("deal", "0-3")]
    assert single[0] == single[1] == sandbox.account.deal_by_id(deal_id, [])


def test_properties_with_history_caps_the_page_at_50(sandbox: Sandbox) -> None:
    acc = sandbox.account
    body = sandbox.get(
        DEALS_PATH, params={"limit": "100", "propertiesWithHistory": "dealstage,amount"}
    ).json()
    assert len(body["results"]) == 50
    first = body["results"][0]
    stage = acc.deal(acc.index_of(first["id"]))["properties"]["dealstage"]
    history = first["propertiesWithHistory"]["dealstage"]
    # the full stage walk, newest first: it ends in the current stage (test_stage_history_http)
    assert history[0]["value"] == stage
    assert history == CrmObjects(acc).history.entries(acc.index_of(first["id"]))


def test_get_by_id_found_archived_and_404(sandbox: Sandbox) -> None:
    acc = sandbox.account
    live_id = acc.live_deal_ids()[42]
    resp = sandbox.get(f"{DEALS_PATH}/{live_id}", params={"properties": "seats,dealname"})
    assert resp.status_code == 200
    assert resp.json() == acc.deal_by_id(live_id, ["seats", "dealname"])
    archived_id = acc.archived_deal_ids()[0]
    assert sandbox.get(f"{DEALS_PATH}/{archived_id}").status_code == 404
    archived = sandbox.get(f"{DEALS_PATH}/{archived_id}", params={"archived": "true"})
    assert archived.status_code == 200 and archived.json()["archived"] is True
    missing = sandbox.get(f"{DEALS_PATH}/123")
    body = missing.json()
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/json;charset=utf-8"
    assert body["status"] == "error" and body["category"] == "OBJECT_NOT_FOUND"
    assert body["correlationId"] == missing.headers["X-HubSpot-Correlation-Id"]


def test_batch_read_complete_partial_and_too_many(sandbox: Sandbox) -> None:
    acc = sandbox.account
    ids = acc.live_deal_ids()[:5]
    resp = sandbox.post(
        f"{DEALS_PATH}/batch/read",
        {"inputs": [{"id": i} for i in ids], "properties": ["seats", "dealname"]},
    )
    body = resp.json()
    assert resp.status_code == 200 and body["status"] == "COMPLETE"
    assert body["results"] == [acc.deal_by_id(i, ["seats", "dealname"]) for i in ids]
    assert "errors" not in body and body["startedAt"] <= body["completedAt"]

    archived_id = acc.archived_deal_ids()[0]
    partial = sandbox.post(
        f"{DEALS_PATH}/batch/read",
        {"inputs": [{"id": ids[0]}, {"id": "123"}, {"id": archived_id}], "properties": []},
    )
    body = partial.json()
    assert partial.status_code == 207
    assert [d["id"] for d in body["results"]] == [ids[0]]
    assert body["numErrors"] == 1
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"] == {"ids": ["123", archived_id]}

    only_archived = sandbox.post(
        f"{DEALS_PATH}/batch/read?archived=true", {"inputs": [{"id": archived_id}]}
    )
    assert only_archived.status_code == 200
    assert only_archived.json()["results"] == [acc.deal_by_id(archived_id, [])]

    too_many = sandbox.post(
        f"{DEALS_PATH}/batch/read", {"inputs": [{"id": i} for i in acc.live_deal_ids()[:101]]}
    )
    assert too_many.status_code == 400
    assert too_many.json()["category"] == "VALIDATION_ERROR"


def test_pipelines_properties_schemas_and_legacy_properties(sandbox: Sandbox) -> None:
    acc = sandbox.account
    pipelines = sandbox.get("/crm/v3/pipelines/deals").json()
    assert pipelines == {"results": acc.pipelines()}
    assert pipelines["results"][0]["stages"][5]["metadata"] == {
        "isClosed": "true",
        "probability": "1.0",
    }
    properties = sandbox.get("/crm/v3/properties/deals").json()
    assert properties == {"results": acc.property_definitions()}
    assert "paging" not in properties
    assert sandbox.get("/crm/v3/schemas").json() == {"results": []}
    legacy = sandbox.get("/properties/v2/deals/properties").json()
    assert isinstance(legacy, list)
    assert [p["name"] for p in legacy] == list(acc.property_names())


def test_owners_paging_email_and_archived(sandbox: Sandbox) -> None:
    acc = sandbox.account
    seen: list[dict] = []
    resp = sandbox.get("/crm/v3/owners", params={"limit": "10"})
    while True:
        body = resp.json()
        seen += body["results"]
        if "paging" not in body:
            break
        link = body["paging"]["next"]["link"]
        assert link.startswith(sandbox.base_url + "/crm/v3/owners?") and "limit=10" in link
        resp = sandbox.session.get(
            link, headers={"Authorization": f"Bearer {sandbox.token}"}, timeout=30
        )
    assert seen == acc.owners() and len(seen) == 25
    assert sandbox.get("/crm/v3/owners").json() == {"results": acc.owners()}
    target = acc.owners()[7]
    by_email = sandbox.get("/crm/v3/owners", params={"email": target["email"].upper()}).json()
    assert by_email == {"results": [target]}
    archived = sandbox.get("/crm/v3/owners", params={"archived": "true"}).json()
    assert archived == {"results": acc.owners(archived=True)}


def test_every_response_has_a_correlation_id_and_exact_content_type(sandbox: Sandbox) -> None:
    for resp in (
        sandbox.get(DEALS_PATH),
        sandbox.get("/crm/v3/owners"),
        sandbox.post(f"{DEALS_PATH}/search", {}),
        sandbox.get("/crm/v3/nothing-here"),
        sandbox.get(DEALS_PATH, token="wrong"),
    ):
        assert resp.headers["Content-Type"] == "application/json;charset=utf-8"
        uuid.UUID(resp.headers["X-HubSpot-Correlation-Id"])


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status)[1]) / 1024  # type: ignore[index]


@pytest.mark.slow
def test_a_million_deals_with_400_properties_start_fast_and_stay_small() -> None:
    token = make_token()
    started = time.perf_counter()
    with SandboxServer(deals=1_000_000, custom_properties=400, tokens=[token]) as server:
        startup = time.perf_counter() - started
        account = server.account()
        everything = ",".join(account.property_names())
        headers = {"Authorization": f"Bearer {token}"}
        with requests.Session() as s:
            for index in (0, 500_000, 999_900):
                resp = s.get(
                    server.url(DEALS_PATH),
                    params={
                        "limit": "100",
                        "properties": everything,
                        "after": account.deal_id(index),
                    },
                    headers=headers,
                    timeout=30,
                )
                results = orjson.loads(resp.content)["results"]
                assert results[0] == account.deal(account.next_index(index, archived=False))
            assert len(results[0]["properties"]) == 417
        rss = _rss_mb(server.process.pid)  # type: ignore[union-attr]
    assert startup < 15
    assert rss < 400, rss


@pytest.mark.slow
def test_same_seed_serves_identical_bytes_and_another_seed_differs() -> None:
    token = make_token()

    def snapshot(seed: int) -> list[bytes]:
        with SandboxServer(deals=600, seed=seed, tokens=[token]) as server, requests.Session() as s:
            everything = ",".join(server.account().property_names())
            headers = {"Authorization": f"Bearer {token}"}
            paths = [
                f"{DEALS_PATH}?limit=100&properties={everything}",
                f"{DEALS_PATH}?limit=100&archived=true&properties={everything}",
                "/crm/v3/properties/deals",
                "/crm/v3/owners",
                "/crm/v3/pipelines/deals",
            ]
            # paging.next.link names the server's own port: everything else must be equal
            return [
                s.get(server.url(p), headers=headers, timeout=30).content.replace(
                    server.base_url.encode(), b"BASE"
                )
                for p in paths
            ]

    first, second, other = snapshot(5), snapshot(5), snapshot(6)
    assert first == second
    assert first[0] != other[0] and first[1] != other[1] and first[3] != other[3]


def test_id_cursors_and_rejecting_oversized_pages() -> None:
    token = make_token()
    with (
        SandboxServer(deals=500, tokens=[token], list_cursor="id", over_limit="reject") as server,
        requests.Session() as s,
    ):
        account = server.account()
        headers = {"Authorization": f"Bearer {token}"}
        page = s.get(server.url(DEALS_PATH), params={"limit": "100"}, headers=headers).json()
        assert page["paging"]["next"]["after"] == account.live_deal_ids()[100]
        too_big = s.get(server.url(DEALS_PATH), params={"limit": "101"}, headers=headers)
        assert too_big.status_code == 400 and too_big.json()["category"] == "VALIDATION_ERROR"
        history = s.get(
            server.url(DEALS_PATH),
            params={"limit": "51", "propertiesWithHistory": "amount"},
            headers=headers,
        )
        assert history.status_code == 400
        search = s.post(
            server.url(DEALS_PATH + "/search"), json={"limit": 201}, headers=headers, timeout=30
        )
        assert search.status_code == 400
