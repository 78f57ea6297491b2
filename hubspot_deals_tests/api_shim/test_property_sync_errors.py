"""The property sync routes' refusals before anything is launched (a shim whose Dagster is
unreachable: none of these may need it): invalid definitions are the document's 400 "Property
validation failed" naming the first property with all its problems, an organization without
HubSpot credentials is a 400, an unknown sync type is a 400."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from api_shim.api_keys import ApiKeyStore
from hubspot_deals_tests.api_shim.conftest import Shim, home_env, shim_env

BASE = "/api/v1/hubspot/properties/sync"
GOOD = {"name": "ok_field", "label": "OK", "type": "string", "fieldType": "text",
        "groupName": "contactinformation"}  # fmt: skip


class Keyed:
    def __init__(self, shim: Shim, key: str) -> None:
        self.shim, self.key = shim, key

    def call(self, method: str, path: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.key}"}
        return requests.request(method, self.shim.url + path, headers=headers, timeout=60)


def start(folder: Path, name: str, definitions: Path) -> tuple[Shim, str]:
    home = home_env(folder / name)
    store = ApiKeyStore(Path(home["HUBSPOT_DEALS_HOME"]) / "api_keys.json")
    key, _ = store.create("props", ["properties.write"], ["org-x"])
    env = {**shim_env(None, home), "HUBSPOT_DEALS_PROPERTY_DEFINITIONS": str(definitions)}
    return Shim(env, folder, name=name), key


@pytest.fixture(scope="module")
def invalid(module_dir: Path, clean_env: None) -> Iterator[Keyed]:
    folder = module_dir / "invalid-definitions"
    folder.mkdir()
    (folder / "contacts.json").write_text(json.dumps([
        GOOD,
        {**GOOD, "name": "Invalid-Field", "type": "number"},
        {**GOOD, "name": "no_options", "type": "enumeration", "fieldType": "select"},
    ]))  # fmt: skip
    (folder / "leads.json").write_text("[{")
    shim, key = start(module_dir, "invalid-shim", folder)
    with shim:
        yield Keyed(shim, key)


@pytest.fixture(scope="module")
def valid(module_dir: Path, clean_env: None) -> Iterator[Keyed]:
    folder = module_dir / "valid-definitions"
    folder.mkdir()
    (folder / "contacts.json").write_text(json.dumps([GOOD]))
    shim, key = start(module_dir, "valid-shim", folder)
    with shim:
        yield Keyed(shim, key)


NAME_RULE = (
    "name: lower case letters, digits and underscores, starting with a letter, at most 100 "
    "characters"
)
NUMBER_PAIR = "fieldType 'text' does not go with type 'number' (number)"


def test_invalid_definitions_are_the_documented_400(invalid: Keyed) -> None:
    contacts = invalid.call("POST", f"{BASE}/contacts")
    assert contacts.status_code == 400, contacts.text
    assert contacts.json() == {
        "success": False,
        "error": "Property validation failed",
        "details": {
            "property_name": "Invalid-Field",
            "validation_errors": [NAME_RULE, NUMBER_PAIR],
            "problems": [
                f"contacts.json: Invalid-Field: {NAME_RULE}",
                f"contacts.json: Invalid-Field: {NUMBER_PAIR}",
                "contacts.json: no_options: options: an enumeration needs at least one option",
            ],
        },
        "status_code": 400,
    }
    every = invalid.call("POST", f"{BASE}/all").json()
    assert every["details"]["property_name"] == "Invalid-Field"
    assert every["details"]["problems"][3].startswith("leads.json: not readable JSON: ")
    leads = invalid.call("POST", f"{BASE}/leads").json()
    assert leads["details"]["property_name"] == ""
    assert leads["details"]["validation_errors"][0].startswith("not readable JSON: ")


def test_an_organization_without_credentials_is_a_400(valid: Keyed) -> None:
    response = valid.call("POST", f"{BASE}/contacts")
    assert response.status_code == 400, response.text
    assert response.json() == {
        "success": False,
        "error": "No HubSpot credentials for this organization",
        "details": {
            "organization_id": "org-x",
            "hint": "authorize HubSpot OAuth (GET /api/hs/auth/login) or add the organization "
            "with its token_env to the organizations file",
        },
        "status_code": 400,
    }


def test_an_unknown_sync_type_is_a_400(valid: Keyed) -> None:
    response = valid.call("GET", f"{BASE}/status/deals")
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["success"], sorted(body["validation_errors"])) == (False, ["sync_type"])
