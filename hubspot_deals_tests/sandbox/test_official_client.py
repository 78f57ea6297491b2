"""HubSpot's own Python client (hubspot-api-client, written against HubSpot's docs, not this
code) works against the sandbox with nothing changed but the host."""

from __future__ import annotations

import pytest

from hubspot_deals_tests.sandbox.conftest import Sandbox

hubspot = pytest.importorskip("hubspot", reason="hubspot-api-client is a test extra")

from hubspot import HubSpot  # noqa: E402
from hubspot.crm.deals import ApiException, Filter, FilterGroup, PublicObjectSearchRequest  # noqa: E402


def client(sandbox: Sandbox, token: str) -> HubSpot:
    return HubSpot(access_token=token, host=sandbox.base_url)


def test_get_page_and_get_all_read_every_live_deal(sandbox: Sandbox) -> None:
    acc = sandbox.account
    api = client(sandbox, sandbox.token)
    names = ["dealname", "amount", "seats", "modules_included"]
    deals = api.crm.deals.get_all(properties=names)
    assert [d.id for d in deals] == acc.live_deal_ids()
    for deal in deals[:300]:
        expected = acc.deal_by_id(deal.id, names)
        assert deal.properties == expected["properties"]
        assert deal.archived is False
        assert (
            deal.created_at.isoformat().replace("+00:00", "") == expected["createdAt"][:-1] + "000"
        )

    page = api.crm.deals.basic_api.get_page(limit=100, archived=True, properties=["dealname"])
    assert [d.id for d in page.results] == acc.archived_deal_ids()[:100]
    assert page.paging.next.after


def test_search_with_filters_sorts_and_paging(sandbox: Sandbox) -> None:
    acc = sandbox.account
    api = client(sandbox, sandbox.token)
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(filters=[Filter(property_name="pipeline", operator="EQ", value="default")])
        ],
        sorts=[{"propertyName": "hs_object_id", "direction": "DESCENDING"}],
        properties=["dealname", "pipeline"],
        limit=50,
        after="0",
    )
    response = api.crm.deals.search_api.do_search(public_object_search_request=request)
    expected = [d["id"] for d in acc.deals(archived=False, properties=["pipeline"])
                if d["properties"]["pipeline"] == "default"]  # fmt: skip
    assert response.total == len(expected)
    assert [d.id for d in response.results] == expected[::-1][:50]
    assert response.paging.next.after == "50"
    assert {d.properties["pipeline"] for d in response.results} == {"default"}


def test_401_is_an_api_exception(sandbox: Sandbox) -> None:
    api = client(sandbox, "not-a-token")
    with pytest.raises(ApiException) as raised:
        api.crm.deals.basic_api.get_page(limit=1)
    assert raised.value.status == 401
    assert "INVALID_AUTHENTICATION" in raised.value.body
