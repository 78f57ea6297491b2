"""CRM objects are declarations: the reader, the filters, the checkpoints' fingerprint and the dlt
resources follow the declaration, and deals keep what they had before there were others."""

import hashlib
import json

from hubspot_deals.source.checkpoint import scan_fingerprint
from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.crm import CrmScan, hubspot_deals_source
from hubspot_deals.source.objects import DEALS, CrmObject
from hubspot_deals.source.reader import ObjectReader, ScanFilter

# What a contacts declaration would be (HubSpot names contacts' change date differently).
CONTACTS = CrmObject(
    object_type="contacts",
    singular="contact",
    default_properties=("hs_object_id", "createdate", "lastmodifieddate"),
    modified_property="lastmodifieddate",
    association_types=("companies", "deals"),
)


def test_a_declared_object_is_read_through_its_own_endpoints_and_properties() -> None:
    f = ScanFilter(modified_since_ms=1_700_000_000_000, crm_object=CONTACTS)
    assert f.needed_properties == ("hs_object_id", "createdate", "lastmodifieddate")
    assert f.search_filters() == [
        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "1700000000000"}
    ]
    client = HubSpotClient("pat-test-declaration", "https://hubspot.invalid")
    reader = ObjectReader(client, ["email"], f)
    assert reader.properties == ["hs_object_id", "createdate", "lastmodifieddate", "email"]
    params = {"limit": 100, "archived": "false", "properties": ",".join(reader.properties)}
    expected = client.url_length("/crm/v3/objects/contacts", {**params, "after": "X" * 64})
    assert reader._list_url_length() == expected
    assert (CONTACTS.search_path, CONTACTS.batch_read_path, CONTACTS.properties_path) == (
        "/crm/v3/objects/contacts/search",
        "/crm/v3/objects/contacts/batch/read",
        "/crm/v3/properties/contacts",
    )


def test_a_declared_object_gets_its_tables_and_deals_keep_theirs() -> None:
    contacts = hubspot_deals_source(CrmScan(objects=(CONTACTS,)))
    assert list(contacts.resources) == ["contacts", "users", "contact_properties"]
    deals = hubspot_deals_source()
    assert list(deals.resources) == [
        "deals", "users", "pipelines", "pipeline_stages", "deal_properties"
    ]  # fmt: skip


def test_deal_checkpoints_keep_their_fingerprint_and_other_objects_differ() -> None:
    """A deal scan checkpointed before objects were declarations still resumes."""
    doc = {
        "scan_type": "full",
        "properties": ["amount", "dealname"],
        "include_archived": True,
        "start": None,
        "end": None,
        "organization_id": "org",
    }
    before = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
    deals = ScanFilter(include_archived=True, crm_object=DEALS)
    assert scan_fingerprint(["dealname", "amount"], deals, "org") == before
    contacts = ScanFilter(include_archived=True, crm_object=CONTACTS)
    assert scan_fingerprint(["dealname", "amount"], contacts, "org") != before
