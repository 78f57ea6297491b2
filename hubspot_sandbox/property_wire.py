"""Property definitions on the wire: the v3 `Property` object and the legacy v2 shape, built from
a `PropertySpec` with every field HubSpot documents (the shapes peers' discovery reads)."""

from __future__ import annotations

from typing import Any

from hubspot_sandbox.catalog import READ_ONLY_PROPERTIES, PropertySpec


def property_definition(spec: PropertySpec) -> dict[str, Any]:
    """A v3 Property object with every field HubSpot documents."""
    created = "2019-08-06T02:43:14.491Z" if spec.hubspot_defined else "2022-11-03T14:20:31.662Z"
    definition: dict[str, Any] = {
        "name": spec.name,
        "label": spec.label,
        "type": spec.type,
        "fieldType": spec.field_type,
        "description": spec.description,
        "groupName": spec.group_name,
        "options": [
            {
                "label": label,
                "value": value,
                "description": "",
                "displayOrder": order,
                "hidden": False,
            }
            for order, (value, label) in enumerate(spec.options)
        ],
        "createdAt": created,
        "updatedAt": "2024-09-17T08:01:22.804Z",
        "createdUserId": None if spec.hubspot_defined else "9183746",
        "updatedUserId": None if spec.hubspot_defined else "9183746",
        "displayOrder": spec.display_order,
        "calculated": spec.calculated,
        "externalOptions": spec.external_options,
        "archived": False,
        "hasUniqueValue": spec.name == "hs_object_id",
        "hidden": False,
        "hubspotDefined": spec.hubspot_defined,
        "modificationMetadata": {
            "archivable": not spec.hubspot_defined,
            "readOnlyDefinition": spec.hubspot_defined,
            "readOnlyValue": spec.read_only_value,
        },
        "formField": not spec.calculated and spec.name not in READ_ONLY_PROPERTIES,
        "dataSensitivity": "non_sensitive",
    }
    if spec.referenced_object_type:
        definition["referencedObjectType"] = spec.referenced_object_type
    if spec.number_display_hint:
        definition["numberDisplayHint"] = spec.number_display_hint
    if spec.show_currency_symbol is not None:
        definition["showCurrencySymbol"] = spec.show_currency_symbol
    if spec.calculated:
        definition["calculationFormula"] = None
    return definition


def legacy_property_definition(spec: PropertySpec) -> dict[str, Any]:
    """The v2 shape (`/properties/v2/deals/properties`), which Airbyte reads for discovery."""
    return {
        "name": spec.name,
        "label": spec.label,
        "description": spec.description,
        "groupName": spec.group_name,
        "type": spec.type,
        "fieldType": spec.field_type,
        "options": [
            {
                "label": label,
                "value": value,
                "displayOrder": order,
                "hidden": False,
                "description": "",
                "readOnly": False,
            }
            for order, (value, label) in enumerate(spec.options)
        ],
        "hidden": False,
        "hubspotDefined": spec.hubspot_defined,
        "calculated": spec.calculated,
        "externalOptions": spec.external_options,
        "deleted": False,
        "createdAt": 1_565_059_394_491 if spec.hubspot_defined else 1_667_485_231_662,
        "updatedAt": 1_726_560_082_804,
        "displayOrder": spec.display_order,
        "readOnlyValue": spec.read_only_value,
        "readOnlyDefinition": spec.hubspot_defined,
        "mutableDefinitionNotDeletable": spec.hubspot_defined,
        "favorited": False,
        "favoritedOrder": -1,
        "formField": not spec.calculated and spec.name not in READ_ONLY_PROPERTIES,
        "displayMode": "current_value",
        "showCurrencySymbol": bool(spec.show_currency_symbol),
        "numberDisplayHint": spec.number_display_hint,
        "hasUniqueValue": spec.name == "hs_object_id",
        "searchableInGlobalSearch": spec.name == "dealname",
        "textDisplayHint": None,
        "optionsAreMutable": spec.type == "enumeration" and not spec.hubspot_defined,
        "referencedObjectType": spec.referenced_object_type,
    }
