"""Property definitions as code: one JSON file per object type (`contacts.json`, `leads.json`,
`deals.json`) in the definitions folder, each a list of properties in property-sync-api.md's
"Local Property Format":

    {"name": "what_service_do_you_need_", "label": "What services do you need?",
     "type": "enumeration", "fieldType": "checkbox", "groupName": "contactinformation",
     "description": "...", "options": [{"label": "...", "value": "...", "displayOrder": 1}]}

Everything is checked before anything is sent to HubSpot, with every problem of a file named at
once: names (HubSpot's internal-name rule), type and fieldType pairs (HubSpot's table), options
(required for enumerations, unique values, none for other types), labels, groups. A group that
HubSpot does not have yet is created by the sync (`groupLabel` names it; default: the name).
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OBJECT_TYPES = ("contacts", "leads", "deals")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
# HubSpot's properties API: which field types each property type accepts (calculated fields
# are left out: their formulas are HubSpot's to manage).
FIELD_TYPES: dict[str, frozenset[str]] = {
    "string": frozenset({"text", "textarea", "html", "phonenumber", "file"}),
    "number": frozenset({"number"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "enumeration": frozenset({"select", "radio", "checkbox", "booleancheckbox"}),
    "bool": frozenset({"booleancheckbox"}),
}
KNOWN_KEYS = frozenset(
    {
        *("name", "label", "type", "fieldType", "groupName", "groupLabel", "description"),
        *("options", "formField", "hasUniqueValue"),
    }
)


@dataclass(frozen=True)
class PropertyOption:
    label: str
    value: str
    display_order: int
    hidden: bool = False

    def as_hubspot(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": self.value,
            "displayOrder": self.display_order,
            "hidden": self.hidden,
        }


@dataclass(frozen=True)
class PropertyDefinition:
    """One property as the definitions file says it should be in HubSpot."""

    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    group_label: str
    description: str = ""
    options: tuple[PropertyOption, ...] = ()
    form_field: bool = True
    has_unique_value: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_hubspot(self) -> dict[str, Any]:
        """The body HubSpot's create endpoint takes."""
        body: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": self.group_name,
            "description": self.description,
            "formField": self.form_field,
        }
        if self.options:
            body["options"] = [option.as_hubspot() for option in self.options]
        if self.has_unique_value:
            body["hasUniqueValue"] = True
        return body


class DefinitionsError(ValueError):
    """A definitions file is not valid: every problem, each naming its property."""

    def __init__(
        self, path: Path, problems: list[str], located: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(f"{path.name}: " + "; ".join(problems))
        self.path = path
        self.problems = problems
        # (the property's name or `[index]`, the problem); "" for a problem of the whole file
        self.located = located if located is not None else [("", p) for p in problems]


def load_definitions(folder: Path, object_type: str) -> list[PropertyDefinition]:
    """The object type's definitions (`<folder>/<object_type>.json`); none without a file."""
    if object_type not in OBJECT_TYPES:
        raise ValueError(f"object type must be one of {', '.join(OBJECT_TYPES)}")
    path = folder / f"{object_type}.json"
    if not path.exists():
        return []
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DefinitionsError(path, [f"not readable JSON: {exc}"]) from None
    if isinstance(document, dict):
        document = document.get("properties", document)
    if not isinstance(document, list):
        raise DefinitionsError(path, ["a list of properties (or {'properties': [...]}) expected"])
    problems: list[str] = []
    located: list[tuple[str, str]] = []
    definitions: list[PropertyDefinition] = []
    seen: set[str] = set()
    for index, raw in enumerate(document):
        where = f"[{index}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: an object expected")
            located.append((where, "an object expected"))
            continue
        name = raw.get("name")
        where = f"{name}" if isinstance(name, str) and name else where
        found = _problems(raw)
        if isinstance(name, str) and name in seen:
            found.append("defined twice")
        seen.add(str(name))
        if found:
            problems += [f"{where}: {problem}" for problem in found]
            located += [(where, problem) for problem in found]
            continue
        definitions.append(_definition(raw))
    if problems:
        raise DefinitionsError(path, problems, located)
    return definitions


def _problems(raw: dict[str, Any]) -> list[str]:
    problems = [f"unknown key {key!r}" for key in raw if key not in KNOWN_KEYS]
    name, kind, field_type = raw.get("name"), raw.get("type"), raw.get("fieldType")
    if not isinstance(name, str) or not NAME.match(name):
        problems.append(
            "name: lower case letters, digits and underscores, starting with a letter, at most "
            "100 characters"
        )
    if name in ("hs_object_id", "createdate", "lastmodifieddate") or str(name).startswith("hs_"):
        problems.append("name: HubSpot's own (hs_...) properties cannot be defined here")
    for key in ("label", "groupName"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            problems.append(f"{key}: required text")
    if kind not in FIELD_TYPES:
        problems.append(f"type: one of {', '.join(FIELD_TYPES)}")
    elif field_type not in FIELD_TYPES[kind]:
        allowed = ", ".join(sorted(FIELD_TYPES[kind]))
        problems.append(f"fieldType {field_type!r} does not go with type {kind!r} ({allowed})")
    options = raw.get("options")
    if kind == "enumeration":
        if not isinstance(options, list) or not options:
            problems.append("options: an enumeration needs at least one option")
        else:
            problems += _option_problems(options)
    elif kind == "bool":
        if options is not None:
            problems += _option_problems(options)
    elif options:
        problems.append(f"options: a {kind} property has none")
    for key in ("description", "groupLabel"):
        if key in raw and not isinstance(raw[key], str):
            problems.append(f"{key}: text")
    for key in ("formField", "hasUniqueValue"):
        if key in raw and not isinstance(raw[key], bool):
            problems.append(f"{key}: true or false")
    return problems


def _option_problems(options: Any) -> list[str]:
    if not isinstance(options, list):
        return ["options: a list"]
    problems, values = [], set()
    for i, option in enumerate(options):
        if not isinstance(option, dict):
            problems.append(f"options[{i}]: an object with label and value")
            continue
        label, value = option.get("label"), option.get("value")
        if not isinstance(label, str) or not label or not isinstance(value, str) or not value:
            problems.append(f"options[{i}]: label and value are required text")
        elif value in values:
            problems.append(f"options[{i}]: value {value!r} given twice")
        values.add(value)
        order = option.get("displayOrder", i)
        if not isinstance(order, int) or isinstance(order, bool):
            problems.append(f"options[{i}]: displayOrder is a whole number")
    return problems


def _definition(raw: dict[str, Any]) -> PropertyDefinition:
    options = tuple(
        PropertyOption(
            label=o["label"],
            value=o["value"],
            display_order=o.get("displayOrder", i),
            hidden=bool(o.get("hidden", False)),
        )
        for i, o in enumerate(raw.get("options") or [])
    )
    return PropertyDefinition(
        name=raw["name"],
        label=raw["label"].strip(),
        type=raw["type"],
        field_type=raw["fieldType"],
        group_name=raw["groupName"],
        group_label=raw.get("groupLabel") or raw["groupName"],
        description=raw.get("description", ""),
        options=options,
        form_field=raw.get("formField", True),
        has_unique_value=raw.get("hasUniqueValue", False),
    )
