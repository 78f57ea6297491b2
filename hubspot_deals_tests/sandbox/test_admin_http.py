"""The /__sandbox/ control routes, seen through the HubSpot routes a client uses."""

from __future__ import annotations

import threading
import urllib.error

import pytest
import requests

from hubspot_deals_tests.sandbox.conftest import make_token
from hubspot_sandbox.process import SandboxServer

DEALS = "/crm/v3/objects/deals"
SEARCH = "/crm/v3/objects/deals/search"


def get(server: SandboxServer, path: str, token: str, **params: str) -> requests.Response:
    return requests.get(
        server.url(path), params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def search(server: SandboxServer, token: str, body: dict) -> dict:
    resp = requests.post(
        server.url(SEARCH), json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_health_account_and_stats() -> None:
    token = make_token()
    with SandboxServer(deals=1_000, seed=4, tokens=[token]) as server:
        assert server.admin("GET", "health") == {"status": "ok"}
        account = server.admin("GET", "account")
        expected = server.account()
        assert account["seed"] == 4 and account["deals"] == 1_000
        assert (account["liveDeals"], account["archivedDeals"]) == (950, 50)
        assert account["properties"] == 77 and account["customProperties"] == 60
        assert account["firstDealId"] == expected.deal_id(0)
        get(server, DEALS, token, limit="100")
        get(server, DEALS, token, limit="5")
        get(server, DEALS, "wrong")
        stats = server.stats()
        assert stats["requests"] == {"GET /crm/v3/objects/deals": {"200": 2, "401": 1}}
        assert stats["requestsTotal"] == 3 and stats["dealsServed"] == 105
        server.reset_stats()
        assert server.stats()["requestsTotal"] == 0


def test_tokens_added_and_revoked() -> None:
    token = make_token()
    with SandboxServer(deals=200, tokens=[token]) as server:
        added = make_token()
        assert get(server, DEALS, added).status_code == 401
        server.admin("POST", "tokens", {"token": added, "scopes": ["crm.objects.owners.read"]})
        assert get(server, "/crm/v3/owners", added).status_code == 200
        assert get(server, DEALS, added).status_code == 403
        assert server.admin("POST", f"tokens/{token}/revoke", {}) == {"revoked": True}
        revoked = get(server, DEALS, token)
        assert revoked.status_code == 401
        assert revoked.json()["category"] == "INVALID_AUTHENTICATION"
        with pytest.raises(urllib.error.HTTPError) as unknown:
            server.admin("POST", f"tokens/{token}/revoke", {})
        assert unknown.value.code == 404


def test_modify_archive_bulk_edit_and_create_as_a_client_sees_them() -> None:
    token = make_token()
    with SandboxServer(deals=30_000, seed=9, tokens=[token]) as server:
        account = server.account()
        live = account.live_deal_ids()
        target, to_archive = live[10], live[11]
        before = get(server, f"{DEALS}/{to_archive}", token).json()

        changed = server.admin(
            "POST",
            "deals/modify",
            {"ids": [target], "properties": {"dealname": "Renamed ✓", "seats": 7},
             "modifiedAt": "2026-08-01T00:00:00.000Z"},
        )  # fmt: skip
        assert changed == {"modified": 1, "modifiedAt": "2026-08-01T00:00:00.000Z"}
        deal = get(server, f"{DEALS}/{target}", token, properties="dealname,seats").json()
        assert deal["properties"]["dealname"] == "Renamed ✓" and deal["properties"]["seats"] == "7"
        assert (
            deal["updatedAt"] == deal["properties"]["hs_lastmodifieddate"] == changed["modifiedAt"]
        )
        renamed = [
            {"propertyName": "seats", "operator": "EQ", "value": "7"},
            {"propertyName": "dealname", "operator": "CONTAINS_TOKEN", "value": "renamed"},
        ]
        found = search(server, token, {"filterGroups": [{"filters": renamed}]})
        assert [d["id"] for d in found["results"]] == [target]

        server.admin("POST", "deals/archive", {"ids": [to_archive]})
        assert get(server, f"{DEALS}/{to_archive}", token).status_code == 404
        archived = get(server, f"{DEALS}/{to_archive}", token, archived="true").json()
        assert archived["archived"] is True and archived["archivedAt"] > before["updatedAt"]
        assert archived["updatedAt"] == before["updatedAt"]  # archiving does not bump it
        page = get(server, DEALS, token, limit="100").json()["results"]
        assert to_archive not in [d["id"] for d in page]
        everything = search(server, token, {"limit": 1})
        assert everything["total"] == account.live_count - 1

        edited = server.admin(
            "POST",
            "deals/bulk-edit",
            {"property": "dealtype", "value": "newbusiness", "count": 25_000},
        )
        assert edited["edited"] == 25_000
        stamp = {
            "propertyName": "hs_lastmodifieddate",
            "operator": "EQ",
            "value": edited["modifiedAt"],
        }
        same_stamp = search(server, token, {"filterGroups": [{"filters": [stamp]}], "limit": 200})
        assert same_stamp["total"] == 25_000
        first_page = get(server, DEALS, token, limit="100", properties="dealtype").json()["results"]
        assert {d["updatedAt"] for d in first_page} == {edited["modifiedAt"]}
        assert {d["properties"]["dealtype"] for d in first_page} == {"newbusiness"}

        created = server.admin(
            "POST", "deals/create", {"deals": [{"properties": {"dealname": "Fresh"}}], "count": 0}
        )
        new_id = created["ids"][0]
        assert int(new_id) > int(account.deal_id(29_999))
        fresh = get(server, f"{DEALS}/{new_id}", token, properties="dealname").json()
        assert fresh["properties"]["dealname"] == "Fresh"
        last = get(server, DEALS, token, limit="100", after=new_id).json()
        assert [d["id"] for d in last["results"]] == [new_id] and "paging" not in last
        assert server.admin("GET", "account")["liveDeals"] == account.live_count - 1 + 1


def test_admin_rejects_bad_changes() -> None:
    with SandboxServer(deals=100) as server:
        some_id = server.account().live_deal_ids()[0]
        bad = [
            ("deals/modify", {"ids": [some_id], "properties": {"hs_object_id": "1"}}, 400),
            ("deals/modify", {"ids": [some_id], "properties": {"nope": "1"}}, 400),
            ("deals/modify", {"ids": ["42"], "properties": {"dealname": "x"}}, 404),
            ("deals/bulk-edit", {"property": "dealname", "value": "x"}, 400),
            ("deals/archive", {"ids": "not-a-list"}, 400),
        ]
        for path, body, status in bad:
            with pytest.raises(urllib.error.HTTPError) as error:
                server.admin("POST", path, body)
            assert error.value.code == status, path


def test_conditions_change_faults_and_limits_of_a_running_sandbox() -> None:
    token = make_token()
    with SandboxServer(deals=300, seed=5, tokens=[token]) as server:
        assert get(server, DEALS, token, limit="1").status_code == 200
        now = server.admin("POST", "conditions", {"faultRate": 1, "faultSeed": 3, "rateLimit": 7})
        assert now == {"faultRate": 1.0, "faultSeed": 3, "latencyMs": 0.0, "rateLimit": 7,
                       "rateLimitWindowMs": 10_000, "searchBucket": "separate",
                       "holdFromDeal": None, "failAfterWrites": 0}  # fmt: skip
        assert get(server, DEALS, token, limit="1").status_code in (500, 502, 503, 504)
        server.admin("POST", "conditions", {"faultRate": 0})
        answers = [get(server, DEALS, token, limit="1") for _ in range(8)]
        assert [a.status_code for a in answers] == [200] * 7 + [429]
        assert answers[0].headers["X-HubSpot-RateLimit-Max"] == "7"
        # Searches draw on the ten-secondly bucket once it is shared (its 7 places are used).
        auth = {"Authorization": f"Bearer {token}"}

        def post_search() -> requests.Response:
            return requests.post(server.url(SEARCH), json={"limit": 1}, headers=auth, timeout=30)

        assert "X-HubSpot-RateLimit-Max" not in post_search().headers
        shared = server.admin("POST", "conditions", {"searchBucket": "shared"})
        assert shared["searchBucket"] == "shared" and shared["rateLimit"] == 7
        searched = post_search()
        assert searched.status_code == 200
        assert searched.headers["X-HubSpot-RateLimit-Remaining"] == "6"
        holds = ({"holdFromDeal": -1}, {"holdFromDeal": 2.5}, {"holdFromDeal": True})
        buckets = ({"searchBucket": "both"}, {"searchBucket": 1})
        for bad in ({"faultRate": 2}, {"latencyMs": -1}, {"rateLimit": "9"}, {"speed": 1},
                    *holds, *buckets):  # fmt: skip
            with pytest.raises(urllib.error.HTTPError) as caught:
                server.admin("POST", "conditions", bad)
            assert caught.value.code == 400, bad


def test_held_list_pages_wait_until_the_hold_is_lifted() -> None:
    token = make_token()
    with SandboxServer(deals=300, seed=5, tokens=[token]) as server:
        assert server.admin("POST", "conditions", {"holdFromDeal": 100})["holdFromDeal"] == 100
        first = get(server, DEALS, token, limit="100")  # deals 0-99: not held
        assert first.status_code == 200 and len(first.json()["results"]) == 100
        after = first.json()["paging"]["next"]["after"]
        answers: list[requests.Response] = []
        held = threading.Thread(
            target=lambda: answers.append(get(server, DEALS, token, limit="100", after=after))
        )
        held.start()
        held.join(timeout=1.0)
        assert held.is_alive() and not answers  # the page from deal 100 on waits
        # Other conditions change without lifting the hold.
        assert server.admin("POST", "conditions", {"latencyMs": 0})["holdFromDeal"] == 100
        held.join(timeout=0.5)
        assert held.is_alive()
        assert server.admin("POST", "conditions", {"holdFromDeal": None})["holdFromDeal"] is None
        held.join(timeout=10)
        assert not held.is_alive()
        assert answers[0].status_code == 200
        ids = [int(d["id"]) for d in answers[0].json()["results"]]
        assert ids[0] > int(first.json()["results"][-1]["id"]) and len(ids) == 100
