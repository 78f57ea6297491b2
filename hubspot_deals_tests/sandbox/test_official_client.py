"""HubSpot's own Python client (hubspot-api-client, written against HubSpot's docs, not this
code) works against the sandbox with nothing changed but the host."""

from __future__ import annotations

import pytest

from hubspot_deals_tests.sandbox.conftest import Sandbox

hubspot = pytest.importorskip("hubspot", reason="hubspot-api-client is a test extra")

from hubspot import HubSpot  # noqa: E402
from hubspot.crm.associations.v4 import (  # noqa: E402
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.contacts import ApiException as ContactsApiException  # noqa: E402
from hubspot.crm.contacts import (  # noqa: E402
    BatchInputSimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts import PublicObjectSearchRequest as ContactSearchRequest  # noqa: E402
from hubspot.crm.deals import ApiException, Filter, FilterGroup, PublicObjectSearchRequest  # noqa: E402
from hubspot.crm.properties import ApiException as PropertiesApiException  # noqa: E402
from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate  # noqa: E402

from hubspot_deals_tests.sandbox.conftest import make_token  # noqa: E402
from hubspot_sandbox.process import SandboxServer  # noqa: E402


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


def test_companies_contacts_and_line_items_through_the_client(sandbox: Sandbox) -> None:
    api = client(sandbox, sandbox.token)
    crm = sandbox.crm
    companies = api.crm.companies.get_all(properties=["name", "industry"])
    assert [c.id for c in companies] == crm.stores["companies"].live_ids()
    store = crm.stores["companies"]
    assert (
        companies[3].properties
        == store.wire(store.index_of(companies[3].id), store.selection(["name", "industry"]))[
            "properties"
        ]
    )
    items = api.crm.line_items.basic_api.get_page(limit=5, archived=True)
    assert [i.id for i in items.results] == crm.stores["line_items"].archived_ids()[:5]
    leads = api.crm.objects.get_all("leads")
    assert len(leads) == 242
    assert api.crm.objects.get_all("calls") == []
    request = ContactSearchRequest(query="zoë", properties=["firstname"], limit=100)
    found = api.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert found.total == len(found.results) == 45
    assert {c.properties["firstname"] for c in found.results} == {"Zoë"}


def test_associations_v4_through_the_client(sandbox: Sandbox) -> None:
    api = client(sandbox, sandbox.token)
    acc, crm = sandbox.account, sandbox.crm
    deal = next(d for d in range(50) if len(crm.deal_links(d, "companies")) >= 2)
    page = api.crm.associations.v4.basic_api.get_page("deals", acc.deal_id(deal), "companies")
    assert [(r.to_object_id, [(t.category, t.type_id, t.label) for t in r.association_types])
            for r in page.results] == [
        (crm.stores["companies"].record_id(t),
         [("USER_DEFINED" if i == 26 else "HUBSPOT_DEFINED", i,
           {5: "Primary", 341: None, 26: "Reseller"}[i]) for i in ids])
        for t, ids in sorted(crm.deal_links(deal, "companies").items())]  # fmt: skip
    ids = [acc.deal_id(d) for d in range(10) if not acc.is_archived(d)]
    batch = api.crm.associations.v4.batch_api.get_page(
        "deals", "line_items", BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=i) for i in ids]))  # fmt: skip
    expected = {acc.deal_id(d): [crm.stores["line_items"].record_id(t)
                                 for t in sorted(crm.deal_links(d, "line_items"))]
                for d in range(10) if not acc.is_archived(d)}  # fmt: skip
    assert {r._from.id: [t.to_object_id for t in r.to] for r in batch.results} == {
        k: v for k, v in expected.items() if v}  # fmt: skip
    assert len(batch.errors) == sum(1 for v in expected.values() if not v) == 3
    labels = api.crm.associations.v4.schema.definitions_api.get_all("deals", "contacts")
    assert [(t.type_id, t.label) for t in labels.results] == [
        (3, None), (22, "Decision maker"), (24, "Champion")]  # fmt: skip


def test_writes_through_the_client() -> None:
    token = make_token()
    with SandboxServer(deals=200, seed=4, tokens=[token]) as server:
        api = HubSpot(access_token=token, host=server.base_url)
        contacts = api.crm.contacts
        made = contacts.basic_api.create(SimplePublicObjectInputForCreate(
            properties={"email": "client@example.net", "firstname": "Cli"}))  # fmt: skip
        got = contacts.basic_api.get_by_id(made.id, properties=["email", "firstname"])
        assert got.properties["firstname"] == "Cli"
        contacts.basic_api.update(made.id, SimplePublicObjectInput(properties={"lastname": "Ent"}))
        assert contacts.basic_api.get_by_id(made.id, properties=["lastname"]).properties[
            "lastname"] == "Ent"  # fmt: skip
        with pytest.raises(ContactsApiException) as conflict:
            contacts.basic_api.create(SimplePublicObjectInputForCreate(
                properties={"email": "client@example.net"}))  # fmt: skip
        assert conflict.value.status == 409
        assert f"Existing ID: {made.id}" in conflict.value.body
        batch = contacts.batch_api.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
            SimplePublicObjectBatchInputForCreate(properties={"email": f"b{k}@example.net"})
            for k in range(3)]))  # fmt: skip
        assert len(batch.results) == 3
        contacts.basic_api.archive(made.id)
        with pytest.raises(ContactsApiException) as gone:
            contacts.basic_api.get_by_id(made.id)
        assert gone.value.status == 404
        group = api.crm.properties.groups_api.create(
            "contacts", PropertyGroupCreate(name="seeded", label="Seeded")
        )
        assert group.name == "seeded"
        created = api.crm.properties.core_api.create("contacts", PropertyCreate(
            name="tier", label="Tier", type="enumeration", field_type="select",
            group_name="seeded", options=[OptionInput(label="Gold", value="gold", hidden=False,
                                                      display_order=0)]))  # fmt: skip
        assert (created.name, created.type, created.field_type) == ("tier", "enumeration", "select")
        names = [p.name for p in api.crm.properties.core_api.get_all("contacts").results]
        assert names[-1] == "tier"
        with pytest.raises(PropertiesApiException) as bad:
            api.crm.properties.core_api.create("contacts", PropertyCreate(
                name="bad", label="Bad", type="number", field_type="text",
                group_name="seeded"))  # fmt: skip
        assert bad.value.status == 400
