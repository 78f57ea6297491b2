"""Bodies of the contacts API (hubspot-integration-api.md, "Contact Management Endpoints").

A contact body is flat: HubSpot property names to values, the document's seven fields and any
other contact property of the portal (HubSpot itself says whether it exists). Names are
HubSpot's internal names (lower case, digits, underscores); values are text, numbers or
booleans, sent to HubSpot as text.
"""

import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr, model_validator
from pydantic_core import PydanticCustomError

from api_shim.models.common import TEXT_PATTERN, TextInputs, check_text

PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
# No space or control character anywhere (the JSON Schema pattern says so too).
EMAIL = re.compile(
    r"^[^@\s\u0000-\u001f\u007f-\u009f]{1,64}@[^@\s\u0000-\u001f\u007f-\u009f]{1,252}"
    r"\.[^@\s.\u0000-\u001f\u007f-\u009f]{1,63}$"
)
MAX_VALUE_LENGTH = 65_536  # HubSpot's limit for a property value
MAX_BULK = 1_000  # ten HubSpot batches per request
# Read-only properties HubSpot keeps itself.
READ_ONLY = frozenset({"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"})


def contact_properties(values: dict[str, Any], *, allow_id: bool = False) -> dict[str, str]:
    """The properties HubSpot is sent; a `PydanticCustomError` naming the first bad one."""
    properties: dict[str, str] = {}
    for name, value in values.items():
        if allow_id and name == "id":
            continue
        if not PROPERTY_NAME.match(name):
            raise PydanticCustomError(
                "property_name",
                "{name}: not a HubSpot property name (lower case letters, digits, underscores)",
                {"name": name[:100]},
            )
        if name in READ_ONLY:
            raise PydanticCustomError(
                "read_only", "{name} is set by HubSpot and cannot be written", {"name": name}
            )
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        elif value is None:
            value = ""
        if not isinstance(value, str):
            raise PydanticCustomError(
                "property_value", "{name}: a text, number or boolean", {"name": name}
            )
        check_text(value)
        if len(value) > MAX_VALUE_LENGTH:
            raise PydanticCustomError(
                "property_value", "{name}: at most 65,536 characters", {"name": name}
            )
        if name == "email" and value and not EMAIL.match(value):
            raise PydanticCustomError("email", "email: not an email address", {})
        properties[name] = value
    return properties


NAME_PATTERN = PROPERTY_NAME.pattern
# Other contact properties of the portal: lower-case names, scalar values (the document's
# seven fields are declared; HubSpot says whether another name exists).
EXTRA_PROPERTIES = {
    "additionalProperties": {"type": ["string", "number", "boolean"], "pattern": TEXT_PATTERN},
    "propertyNames": {"pattern": NAME_PATTERN, "not": {"enum": sorted(READ_ONLY)}},
}
EXAMPLE = {
    "email": "john.doe@example.com",
    "firstname": "John",
    "lastname": "Doe",
    "phone": "+1234567890",
    "company": "Example Corp",
    "website": "https://example.com",
    "jobtitle": "Software Engineer",
}


class ContactFields(TextInputs):
    """A contact's properties (full or partial update): at least one."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={**EXTRA_PROPERTIES, "minProperties": 1, "example": EXAMPLE},
    )

    email: str | None = Field(default=None, max_length=254, pattern=EMAIL.pattern,
                              description="Unique per portal.")  # fmt: skip
    firstname: str | None = None
    lastname: str | None = None
    phone: str | None = None
    company: str | None = None
    website: str | None = None
    jobtitle: str | None = None
    _sent: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _properties(cls, data: Any, handler: Any) -> "ContactFields":
        body = handler(data)
        given = body.model_dump(exclude_unset=True)
        # In the order the client wrote them (`updatedFields` echoes it).
        order = list(data) if isinstance(data, dict) else list(given)
        body._sent = contact_properties({k: given[k] for k in order if k in given})
        if not body._sent:
            raise PydanticCustomError("empty", "at least one property is required", {})
        return body

    def properties(self) -> dict[str, str]:
        return dict(self._sent)


class NewContact(ContactFields):
    """A contact to create: `email` is required."""

    model_config = ConfigDict(extra="allow", json_schema_extra={**EXTRA_PROPERTIES,
                                                                "example": EXAMPLE})  # fmt: skip

    email: str = Field(max_length=254, pattern=EMAIL.pattern, description="Unique per portal.")


class BulkContacts(TextInputs):
    """`POST /api/hs/contacts/bulk`: up to 1,000 contacts, sent in HubSpot batches of 100. What
    each contact must carry depends on `operation` (create: `email`; update: `id` and at least
    one property; delete: `id`), checked here with each problem's position."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "operation": "create",
                "contacts": [
                    {"email": "contact1@example.com", "firstname": "Contact", "lastname": "One"},
                    {"email": "contact2@example.com", "firstname": "Contact", "lastname": "Two"},
                ],
            }
        },
    )

    operation: Literal["create", "update", "delete"]
    contacts: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BULK)
    _items: list[dict[str, Any]] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _contacts(self) -> "BulkContacts":
        self._items = []
        emails: set[str] = set()
        for index, item in enumerate(self.contacts):
            where = f"contacts[{index}]"
            if self.operation != "create":
                contact_id = item.get("id")
                if not isinstance(contact_id, str | int) or not re.fullmatch(
                    r"\d{1,20}", str(contact_id)
                ):
                    raise PydanticCustomError(
                        "contact_id",
                        "{where}.id: a HubSpot contact id is required",
                        {"where": where},
                    )
            try:
                properties = contact_properties(item, allow_id=True)
            except PydanticCustomError as exc:
                raise PydanticCustomError(
                    exc.type, "{where}: {message}", {"where": where, "message": exc.message()}
                ) from None
            if self.operation == "create":
                email = properties.get("email", "").lower()
                if not email:
                    raise PydanticCustomError(
                        "email_required",
                        "{where}.email: Email is required for contact creation",
                        {"where": where},
                    )
                if email in emails:
                    raise PydanticCustomError(
                        "duplicate_email", "{where}.email: given twice", {"where": where}
                    )
                emails.add(email)
                self._items.append(properties)
            elif self.operation == "update":
                if not properties:
                    raise PydanticCustomError(
                        "empty", "{where}: no property to update", {"where": where}
                    )
                self._items.append({"id": str(item["id"]), **properties})
            else:
                self._items.append({"id": str(item["id"])})
        return self

    def items(self) -> list[dict[str, Any]]:
        return [dict(item) for item in self._items]
