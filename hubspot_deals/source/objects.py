"""The CRM objects the source reads, each a declaration: adding one is a declaration, not code.

The reader, the typed table, the stream of checkpointed chunks and the dlt resources are generic
over a `CrmObject`: which HubSpot object type it is (the name in its endpoints' paths), which
properties every scan reads, its primary key, the property that dates a change (for incremental
scans), the associations it has, and whether it has pipelines. Deals are the first declaration.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class CrmObject:
    """One HubSpot CRM object type as the source reads it."""

    object_type: str  # HubSpot's name in the endpoints: `/crm/v3/objects/<object_type>`
    singular: str  # names the object's property definitions table: `<singular>_properties`
    # Properties every scan reads: HubSpot adds them to every response anyway, so requesting
    # them keeps the columns stable.
    default_properties: tuple[str, ...]
    primary_key: str = "id"
    # The property an incremental scan filters on (contacts call it `lastmodifieddate`).
    modified_property: str = "hs_lastmodifieddate"
    created_property: str = "createdate"
    # The object types HubSpot associates it with (`/crm/v4/objects/<type>/{id}/associations/`).
    association_types: tuple[str, ...] = ()
    # Whether it has pipelines and stages (`/crm/v3/pipelines/<object_type>`), and the property
    # naming a record's pipeline (a scan's pipeline filter).
    has_pipelines: bool = False
    pipeline_property: str = "pipeline"

    @property
    def table(self) -> str:
        """The destination table of its records, one row per record per scan."""
        return self.object_type

    @property
    def properties_table(self) -> str:
        """The destination table of its property definitions."""
        return f"{self.singular}_properties"

    @property
    def objects_path(self) -> str:
        return f"/crm/v3/objects/{self.object_type}"

    @property
    def search_path(self) -> str:
        return f"{self.objects_path}/search"

    @property
    def batch_read_path(self) -> str:
        return f"{self.objects_path}/batch/read"

    @property
    def properties_path(self) -> str:
        return f"/crm/v3/properties/{self.object_type}"

    @property
    def pipelines_path(self) -> str:
        return f"/crm/v3/pipelines/{self.object_type}"


DEALS = CrmObject(
    object_type="deals",
    singular="deal",
    default_properties=("hs_object_id", "createdate", "hs_lastmodifieddate"),
    association_types=("companies", "contacts", "line_items"),
    has_pipelines=True,
)
COMPANIES = CrmObject(
    object_type="companies",
    singular="company",
    default_properties=("hs_object_id", "createdate", "hs_lastmodifieddate"),
    association_types=("deals", "contacts"),
)
CONTACTS = CrmObject(
    object_type="contacts",
    singular="contact",
    # HubSpot names a contact's change date `lastmodifieddate`, every other object's
    # `hs_lastmodifieddate`.
    default_properties=("hs_object_id", "createdate", "lastmodifieddate"),
    modified_property="lastmodifieddate",
    association_types=("deals", "companies"),
)
LINE_ITEMS = CrmObject(
    object_type="line_items",
    singular="line_item",
    default_properties=("hs_object_id", "createdate", "hs_lastmodifieddate"),
    association_types=("deals",),
)

CRM_OBJECTS: dict[str, CrmObject] = {
    o.object_type: o for o in (DEALS, COMPANIES, CONTACTS, LINE_ITEMS)
}


def crm_object(object_type: str) -> CrmObject:
    """The declaration of a CRM object type the source reads."""
    try:
        return CRM_OBJECTS[object_type]
    except KeyError:
        known = ", ".join(sorted(CRM_OBJECTS))
        raise ValueError(f"unknown CRM object {object_type!r}; the source reads {known}") from None
