"""Definitions files are checked whole before anything is sent to HubSpot: every problem of a
file at once, each naming its property."""

import json
from pathlib import Path

import pytest

from hubspot_deals.property_sync import DefinitionsError, load_definitions

REPO = Path(__file__).resolve().parents[2]


def write(folder: Path, properties: object) -> Path:
    (folder / "contacts.json").write_text(json.dumps(properties))
    return folder


def test_the_shipped_definitions_are_valid() -> None:
    contacts = load_definitions(REPO / "properties", "contacts")
    leads = load_definitions(REPO / "properties", "leads")
    assert (len(contacts), len(leads)) == (15, 25)
    service = contacts[0]
    assert service.as_hubspot() == {
        "name": "what_service_do_you_need_",
        "label": "What services do you need?",
        "type": "enumeration",
        "fieldType": "checkbox",
        "groupName": "contactinformation",
        "description": "Service selection checkboxes",
        "formField": True,
        "options": [
            {"label": "Restroom Trailer", "value": "Restroom Trailer", "displayOrder": 1,
             "hidden": False},
            {"label": "Shower Trailer", "value": "Shower Trailer", "displayOrder": 2,
             "hidden": False},
            {"label": "Porta Potty", "value": "Porta Potty", "displayOrder": 3, "hidden": False},
            {"label": "Hand Washing Station", "value": "Hand Washing Station",
             "displayOrder": 4, "hidden": False},
        ],
    }  # fmt: skip


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    good = {"name": "ok_field", "label": "OK", "type": "string", "fieldType": "text",
            "groupName": "contactinformation"}  # fmt: skip
    folder = write(
        tmp_path,
        [
            good,
            {**good, "name": "Bad-Name"},
            {**good, "name": "hs_mine"},
            {**good, "name": "wrong_pair", "type": "number", "fieldType": "text"},
            {**good, "name": "no_options", "type": "enumeration", "fieldType": "select"},
            {**good, "name": "twice_value", "type": "enumeration", "fieldType": "radio",
             "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "a"}]},
            {**good, "name": "text_options", "options": [{"label": "A", "value": "a"}]},
            {**good, "name": "no_label", "label": " "},
            {**good, "name": "extra_key", "colour": "red"},
            {**good, "name": "calc", "type": "number", "fieldType": "calculation_equation"},
            good,
        ],
    )  # fmt: skip
    with pytest.raises(DefinitionsError) as raised:
        load_definitions(folder, "contacts")
    assert raised.value.problems == [
        "Bad-Name: name: lower case letters, digits and underscores, starting with a letter, "
        "at most 100 characters",
        "hs_mine: name: HubSpot's own (hs_...) properties cannot be defined here",
        "wrong_pair: fieldType 'text' does not go with type 'number' (number)",
        "no_options: options: an enumeration needs at least one option",
        "twice_value: options[1]: value 'a' given twice",
        "text_options: options: a string property has none",
        "no_label: label: required text",
        "extra_key: unknown key 'colour'",
        "calc: fieldType 'calculation_equation' does not go with type 'number' (number)",
        "ok_field: defined twice",
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not readable JSON"),
        ('"a string"', "a list of properties"),
        ("[1]", "[0]: an object expected"),
    ],
)
def test_a_file_that_is_not_definitions_is_refused(
    tmp_path: Path, content: str, problem: str
) -> None:
    (tmp_path / "contacts.json").write_text(content)
    with pytest.raises(DefinitionsError) as raised:
        load_definitions(tmp_path, "contacts")
    assert problem in str(raised.value)


def test_no_file_means_no_definitions_and_unknown_object_types_are_refused(
    tmp_path: Path,
) -> None:
    assert load_definitions(tmp_path, "leads") == []
    with pytest.raises(ValueError, match="contacts, leads, deals"):
        load_definitions(tmp_path, "tickets")
