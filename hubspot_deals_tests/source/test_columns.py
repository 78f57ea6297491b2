"""Typing of HubSpot's string values into columns (pure, no I/O)."""

from datetime import UTC, date, datetime

from hubspot_deals.source.checkpoint import scan_fingerprint
from hubspot_deals.source.columns import CrmProperty, ObjectTableBuilder
from hubspot_deals.source.crm import select_properties
from hubspot_deals.source.objects import DEALS
from hubspot_deals.source.reader import ScanFilter


def test_column_types_follow_property_definitions() -> None:
    cases = {
        ("number", "number"): "double",
        ("datetime", "date"): "timestamp",
        ("date", "date"): "date",
        ("bool", "booleancheckbox"): "bool",
        ("enumeration", "booleancheckbox"): "bool",
        ("enumeration", "checkbox"): "text",
        ("phone_number", "phonenumber"): "text",
        ("string", "textarea"): "text",
    }
    for (t, f), expected in cases.items():
        assert CrmProperty("p", t, f).column_type == expected


def test_values_are_typed_and_misfits_kept_in_unparsed() -> None:
    props = [
        CrmProperty("amount", "number"),
        CrmProperty("closedate", "datetime"),
        CrmProperty("renewal", "date"),
        CrmProperty("hot", "bool", "booleancheckbox"),
        CrmProperty("name", "string"),
        CrmProperty("archived", "string"),  # collides with a record column
    ]
    builder = ObjectTableBuilder(props, "scan-1", "org-1")
    deals = [
        {
            "id": "1",
            "properties": {"amount": "1234.5", "closedate": "2024-01-02T03:04:05.678Z",
                           "renewal": "2025-02-03", "hot": "true", "name": "Zoë \"x\"\n;y",
                           "archived": "custom"},
            "createdAt": "2024-01-01T00:00:00.000Z",
            "updatedAt": "2024-01-02T00:00:00.000Z",
            "archived": False,
        },
        {
            "id": "2",
            "properties": {"amount": "N/A", "closedate": "1579514400000", "renewal": "",
                           "hot": "", "name": "", "archived": None},
            "createdAt": "2024-01-01T00:00:00Z",
            "updatedAt": "2024-01-01T00:00:00Z",
            "archived": True,
            "archivedAt": "2024-05-01T00:00:00.000Z",
        },
    ]  # fmt: skip
    rows = builder.build(deals).to_pylist()
    assert rows[0]["amount"] == 1234.5
    assert rows[0]["closedate"] == datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert rows[0]["renewal"] == date(2025, 2, 3)
    assert rows[0]["hot"] is True
    assert rows[0]["name"] == 'Zoë "x"\n;y'
    assert rows[0]["property_archived"] == "custom" and rows[0]["archived"] is False
    assert rows[0]["_unparsed"] is None
    assert rows[1]["amount"] is None and rows[1]["_unparsed"] == '{"amount":"N/A"}'
    assert rows[1]["closedate"] == datetime(2020, 1, 20, 10, 0, tzinfo=UTC)
    assert rows[1]["renewal"] is None and rows[1]["hot"] is None
    assert rows[1]["name"] == ""  # an empty string stays an empty string in text columns
    assert rows[1]["archived"] is True
    assert rows[1]["archived_at"] == datetime(2024, 5, 1, tzinfo=UTC)
    assert {r["_scan_id"] for r in rows} == {"scan-1"}


def test_select_properties_keeps_request_order_and_reports_unknown() -> None:
    names = ("hs_object_id", "createdate", "hs_lastmodifieddate", "amount", "dealname")
    defs = [{"name": n, "type": "string"} for n in names]
    selected, unknown = select_properties(
        defs, ["dealname", "nope", "amount"], DEALS.default_properties
    )
    assert [p.name for p in selected] == [
        "hs_object_id", "createdate", "hs_lastmodifieddate", "dealname", "amount"
    ]  # fmt: skip
    assert unknown == ["nope"]
    everything, none = select_properties(defs, None, DEALS.default_properties)
    assert len(everything) == 5 and none == []


def test_date_filter_bounds_are_whole_utc_days() -> None:
    f = ScanFilter(start_date=date(2024, 1, 1), end_date=date(2024, 1, 31))
    lo, hi = f.bounds_ms()
    assert lo == 1704067200000  # 2024-01-01T00:00:00.000Z
    assert hi == 1706745599999  # 2024-01-31T23:59:59.999Z
    assert f.search_filters() == [
        {"propertyName": "createdate", "operator": "GTE", "value": "1704067200000"},
        {"propertyName": "createdate", "operator": "LTE", "value": "1706745599999"},
    ]
    edge = {"properties": {"createdate": "2024-01-31T23:59:59.999Z"}}
    past = {"properties": {"createdate": "2024-02-01T00:00:00.000Z"}}
    assert f.accepts(edge) and not f.accepts(past)


def test_pipeline_filter_searches_checks_archived_deals_and_keys_checkpoints() -> None:
    f = ScanFilter(pipeline="75302811", start_date=date(2024, 1, 1))
    assert f.searches_only and f.narrows
    assert f.search_filters() == [
        {"propertyName": "pipeline", "operator": "EQ", "value": "75302811"},
        {"propertyName": "createdate", "operator": "GTE", "value": "1704067200000"},
    ]
    inside = {"properties": {"pipeline": "75302811", "createdate": "2024-03-01T00:00:00Z"}}
    other = {"properties": {"pipeline": "default", "createdate": "2024-03-01T00:00:00Z"}}
    assert f.accepts(inside) and not f.accepts(other)
    assert f.needed_properties == ("hs_object_id", "createdate", "hs_lastmodifieddate", "pipeline")
    defs = [{"name": n, "type": "string", "fieldType": "text"} for n in f.needed_properties]
    selected, _ = select_properties(defs, ["dealname"], f.needed_properties)
    assert [p.name for p in selected] == list(f.needed_properties)
    # A checkpoint of one pipeline never resumes another, nor an unfiltered scan; filters
    # without a pipeline keep the fingerprint they had before the field existed.
    plain = scan_fingerprint(None, ScanFilter(), "org")
    assert plain == "a6867dc8ec1b32f3"  # as before: checkpoints of older versions still resume
    assert len({plain, *(scan_fingerprint(None, ScanFilter(pipeline=p), "org") for p in "ab")}) == 3
