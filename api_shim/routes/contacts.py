"""`/api/hs/contacts`: HubSpot contacts for a tenant (hubspot-integration-api.md, "Contact
Management Endpoints"). Reads need the API-key scope `contacts.read`, writes `contacts.write`;
each request acts for `tenantId` (default: the key's only tenant) with that tenant's own HubSpot
credentials (`api_shim.services.hubspot_access`). Errors have the document's shape,
`{"error": {"code", "message", "details"?}}`.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api_shim.deps import ContactServiceDep, OAuthServiceDep, PrincipalDep
from api_shim.hubspot_errors import hubspot_error_body
from api_shim.models.contacts import BulkContacts, ContactFields, NewContact
from api_shim.routes.hubspot_auth import TenantQuery
from api_shim.services.contacts import DEFAULT_PROPERTIES, ContactError
from api_shim.services.hubspot_oauth import OAuthError

PREFIX = "/api/hs/contacts"
router = APIRouter(prefix=PREFIX, tags=["HubSpot contacts"])

ContactId = Annotated[
    str,
    Path(
        description="HubSpot contact id.",
        pattern=r"^\d{1,20}$",
        examples=["12345678901"],
    ),
]
PropertiesQuery = Annotated[
    str | None,
    Query(
        description="Comma-separated properties to return; default: "
        + ",".join(DEFAULT_PROPERTIES),
        pattern=r"^[a-z][a-z0-9_]*(,[a-z][a-z0-9_]*){0,199}$",
        examples=["firstname,lastname,email"],
    ),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Contacts per page (1-100).")]

_EXAMPLES: dict[int, tuple[str, str]] = {
    400: ("VALIDATION_ERROR", "Input validation failed"),
    401: ("AUTHENTICATION_REQUIRED", "Not authenticated with HubSpot"),
    403: ("INSUFFICIENT_SCOPE", "the HubSpot token lacks a scope (403 MISSING_SCOPES)"),
    404: ("CONTACT_NOT_FOUND", "Contact with ID 12345678901 not found"),
    409: ("CONTACT_EXISTS", "A contact with this email already exists (id 12345678901)"),
    429: ("RATE_LIMIT_EXCEEDED", "API rate limit exceeded"),
    503: ("SERVICE_UNAVAILABLE", "HTTP 503 from HubSpot GET /crm/v3/objects/contacts"),
}


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {
            "description": _EXAMPLES[code][1],
            "content": {"application/json": {"example": hubspot_error_body(*_EXAMPLES[code])}},
        }
        for code in codes
    }


def _answer(call: Any, status: int = 200) -> Any:
    """The call's answer, or its error in the document's shape."""
    try:
        result = call()
    except (ContactError, OAuthError) as exc:
        details = getattr(exc, "details", None)
        headers = getattr(exc, "headers", None)
        return JSONResponse(
            hubspot_error_body(exc.code, exc.message, details),
            status_code=exc.status,
            headers=headers,
        )
    return JSONResponse(result, status_code=status)


def _split(properties: str | None) -> list[str] | None:
    return properties.split(",") if properties else None


ERRORS = (400, 401, 403, 429, 503)


@router.post(
    "",
    status_code=201,
    summary="Create a contact",
    description="Creates the contact in HubSpot. A retry after HubSpot failed mid-way never "
    "creates a second contact: the contact is looked up by its email first.",
    responses={
        201: {
            "description": "Created.",
            "content": {
                "application/json": {
                    "example": {
                        "id": "12345678901",
                        "success": True,
                        "created": True,
                        "properties": {
                            "email": "john.doe@example.com",
                            "firstname": "John",
                            "lastname": "Doe",
                            "createdate": "2025-07-29T12:00:00.000Z",
                        },
                    }
                }
            },
        },
        **_responses(*ERRORS, 409),
    },
)
def create_contact(
    contacts: ContactServiceDep,
    principal: PrincipalDep,
    body: NewContact,
    oauth: OAuthServiceDep,
    tenant_id: TenantQuery = None,
) -> Any:
    def call() -> dict:
        return contacts.create(oauth.tenant(tenant_id), principal.key_id, body.properties())

    return _answer(call, 201)


@router.get(
    "/search",
    summary="Search contacts",
    description="HubSpot's contact search: `query` matches the default searchable properties "
    "(name, email, phone, company, ...), as in HubSpot.",
    responses=_responses(*ERRORS),
)
def search_contacts(
    contacts: ContactServiceDep,
    oauth: OAuthServiceDep,
    query: Annotated[str, Query(min_length=1, max_length=256, description="Search term.")],
    limit: Limit = 20,
    properties: PropertiesQuery = None,
    tenant_id: TenantQuery = None,
) -> Any:
    return _answer(
        lambda: contacts.search(oauth.tenant(tenant_id), query, limit, _split(properties))
    )


@router.post(
    "/bulk",
    summary="Create, update or delete contacts in bulk",
    description="Up to 1,000 contacts, sent to HubSpot's batch endpoints 100 at a time. Every "
    "contact gets a result in its position; one HubSpot refuses fails alone (`success: false` "
    "with its error), the others are carried out. `update` and `delete` need each contact's "
    "`id`.",
    responses={
        200: {
            "description": "Each contact's result and a summary.",
            "content": {
                "application/json": {
                    "example": {
                        "success": True,
                        "operation": "create",
                        "results": [
                            {
                                "id": "12345678901",
                                "success": True,
                                "email": "contact1@example.com",
                            },
                            {
                                "id": "12345678902",
                                "success": True,
                                "email": "contact2@example.com",
                            },
                        ],
                        "summary": {"total": 2, "successful": 2, "failed": 0},
                    }
                }
            },
        },
        **_responses(*ERRORS),
    },
)
def bulk_contacts(
    contacts: ContactServiceDep,
    principal: PrincipalDep,
    body: BulkContacts,
    oauth: OAuthServiceDep,
    tenant_id: TenantQuery = None,
) -> Any:
    return _answer(
        lambda: contacts.bulk(
            oauth.tenant(tenant_id), principal.key_id, body.operation, body.items()
        )
    )


@router.api_route("/search", methods=["POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
@router.api_route("/bulk", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def method_not_allowed() -> None:
    """`/search` and `/bulk` are not contact ids: another method on them is a 405 (with the
    methods they take), not a contact id that fails its pattern."""
    raise StarletteHTTPException(405)


@router.get(
    "/{contact_id}",
    summary="Get a contact",
    responses=_responses(*ERRORS, 404),
)
def get_contact(
    contacts: ContactServiceDep,
    contact_id: ContactId,
    oauth: OAuthServiceDep,
    properties: PropertiesQuery = None,
    tenant_id: TenantQuery = None,
) -> Any:
    return _answer(lambda: contacts.get(oauth.tenant(tenant_id), contact_id, _split(properties)))


@router.get(
    "",
    summary="List contacts",
    description="A page of contacts in `sort` order (default `createdate`, newest first), with "
    "the total. `paging.next.after` is the next page's cursor; `paging.prev.before` the "
    "previous page's (pass it as `after`). HubSpot's search pages reach the first 10,000.",
    responses=_responses(*ERRORS),
)
def list_contacts(
    contacts: ContactServiceDep,
    oauth: OAuthServiceDep,
    limit: Limit = 20,
    after: Annotated[
        str | None, Query(pattern=r"^\d{1,5}$", description="Cursor from paging.")
    ] = None,
    properties: PropertiesQuery = None,
    sort: Annotated[
        str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,99}$", description="Property to sort by.")
    ] = None,
    order: Annotated[Literal["asc", "desc"], Query(description="Sort order.")] = "desc",
    tenant_id: TenantQuery = None,
) -> Any:
    return _answer(
        lambda: contacts.page(
            oauth.tenant(tenant_id), limit, after, _split(properties), sort, order
        )
    )


@router.put(
    "/{contact_id}",
    summary="Update a contact (full)",
    description="Sets the given properties; the document's contact fields (email, firstname, "
    "lastname, phone, company, website, jobtitle) that the body leaves out are cleared.",
    responses=_responses(*ERRORS, 404, 409),
)
def replace_contact(
    contacts: ContactServiceDep,
    principal: PrincipalDep,
    contact_id: ContactId,
    body: ContactFields,
    oauth: OAuthServiceDep,
    tenant_id: TenantQuery = None,
) -> Any:
    return _answer(
        lambda: contacts.update(
            oauth.tenant(tenant_id), principal.key_id, contact_id, body.properties(), full=True
        )
    )


@router.patch(
    "/{contact_id}",
    summary="Update a contact (partial)",
    description="Sets the given properties only; `updatedFields` lists them.",
    responses=_responses(*ERRORS, 404, 409),
)
def update_contact(
    contacts: ContactServiceDep,
    principal: PrincipalDep,
    contact_id: ContactId,
    body: ContactFields,
    oauth: OAuthServiceDep,
    tenant_id: TenantQuery = None,
) -> Any:
    return _answer(
        lambda: contacts.update(
            oauth.tenant(tenant_id), principal.key_id, contact_id, body.properties(), full=False
        )
    )


@router.delete(
    "/{contact_id}",
    summary="Delete a contact",
    description="Archives the contact in HubSpot (HubSpot keeps archived contacts restorable "
    "for 90 days).",
    responses=_responses(*ERRORS, 404),
)
def delete_contact(
    contacts: ContactServiceDep,
    principal: PrincipalDep,
    contact_id: ContactId,
    oauth: OAuthServiceDep,
    tenant_id: TenantQuery = None,
) -> Any:
    return _answer(lambda: contacts.delete(oauth.tenant(tenant_id), principal.key_id, contact_id))
