"""The CRM object types the sandbox serves, declared once: names, type ids, scopes, properties.

A new object type is a declaration here, not a copy of route or store code: the generic routes
(`object_routes.py`), the record store (`records.py`) and the property routes
(`property_routes.py`) all read it. Deals keep their own fast store (`account.py`) but are
declared here too, so associations and property writes treat them like the rest.

Object type ids, default properties and the contacts' `lastmodifieddate` follow HubSpot's docs
and recorded responses; the types with `per_thousand_deals == 0` exist only so that peers'
discovery (`/crm/v3/properties/{calls,...}`, `/properties/v2/company/properties`) finds them:
their lists are empty.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hubspot_sandbox.catalog import (
    BOOL,
    BOOL_OPTIONS,
    DATETIME,
    NUMBER,
    PHONE,
    SELECT,
    STRING,
    TEXTAREA,
    PropertySpec,
)

ENUM_IDS = ("enumeration", "checkbox")  # HubSpot's type for hs_merged_object_ids

INDUSTRIES = (("COMPUTER_SOFTWARE", "Computer Software"), ("RETAIL", "Retail"),
              ("FINANCIAL_SERVICES", "Financial Services"), ("HOSPITAL_HEALTH_CARE",
              "Hospital & Health Care"), ("LOGISTICS_AND_SUPPLY_CHAIN", "Logistics and Supply "
              "Chain"), ("FOOD_BEVERAGES", "Food & Beverages"))  # fmt: skip
LIFECYCLE_STAGES = (("subscriber", "Subscriber"), ("lead", "Lead"),
                    ("marketingqualifiedlead", "Marketing Qualified Lead"),
                    ("salesqualifiedlead", "Sales Qualified Lead"),
                    ("opportunity", "Opportunity"), ("customer", "Customer"),
                    ("evangelist", "Evangelist"), ("other", "Other"))  # fmt: skip
LEAD_STAGES = (("new-stage-id", "New"), ("attempting-stage-id", "Attempting"),
               ("connected-stage-id", "Connected"), ("qualified-stage-id", "Qualified"),
               ("unqualified-stage-id", "Disqualified"))  # fmt: skip
LEAD_TYPES = (("NEW_BUSINESS", "New Business"), ("UPSELL", "Upsell"),
              ("RE_ATTEMPTING", "Re-attempting"))  # fmt: skip
LEAD_LABELS = (("HOT", "Hot"), ("WARM", "Warm"), ("COLD", "Cold"))


@dataclass(frozen=True)
class ObjectType:
    """One CRM object type as HubSpot's public API exposes it."""

    name: str  # the plural path name: "companies"
    singular: str  # "company": accepted in paths, and the v2 properties path
    type_id: str  # "0-2"
    group: str  # the property group of its HubSpot-defined properties
    properties: tuple[PropertySpec, ...]  # HubSpot-defined, in wire order
    default_properties: tuple[str, ...]  # what a request naming no properties gets
    modified_property: str = "hs_lastmodifieddate"  # contacts: "lastmodifieddate"
    query_properties: tuple[str, ...] = ()  # the text properties search's `query` looks in
    unique_property: str | None = None  # contacts: "email" (409 on a duplicate)
    per_thousand_deals: int = 0  # how many records a seeded account has per 1,000 deals
    first_id: int = 0
    id_step_bits: int = 4
    scope_name: str = ""  # "companies" in crm.objects.companies.read; default: name

    @property
    def always_included(self) -> tuple[str, ...]:
        return ("hs_object_id", "createdate", self.modified_property)

    @property
    def read_scope(self) -> str:
        return f"crm.objects.{self.scope_name or self.name}.read"

    @property
    def write_scope(self) -> str:
        return f"crm.objects.{self.scope_name or self.name}.write"

    @property
    def schema_read_scope(self) -> str:
        return f"crm.schemas.{self.scope_name or self.name}.read"

    @property
    def schema_write_scope(self) -> str:
        return f"crm.schemas.{self.scope_name or self.name}.write"

    @property
    def upper(self) -> str:
        """`COMPANY`, as HubSpot names the type in batch error messages."""
        return self.singular.upper()


def _common(group: str, modified: str, owner: bool = True) -> list[PropertySpec]:
    specs = [
        PropertySpec("hs_object_id", "Record ID", NUMBER, group, "The unique ID for this record.",
                     hubspot_defined=True, read_only_value=True,
                     number_display_hint="unformatted"),
        PropertySpec("createdate", "Create Date", DATETIME, group,
                     "The date the record was created.", hubspot_defined=True,
                     read_only_value=True),
        PropertySpec(modified, "Last Modified Date", DATETIME, group,
                     "Most recent timestamp of any property update for this record.",
                     hubspot_defined=True, read_only_value=True),
        PropertySpec("hs_merged_object_ids", "Merged record IDs", ENUM_IDS, group,
                     "The IDs of the records merged into this one.", hubspot_defined=True,
                     read_only_value=True),
    ]  # fmt: skip
    if owner:
        specs.append(
            PropertySpec(
                "hubspot_owner_id",
                "Owner",
                SELECT,
                group,
                "The owner of the record.",
                hubspot_defined=True,
                external_options=True,
                referenced_object_type="OWNER",
            )  # fmt: skip
        )
    return specs


def _specs(group: str, modified: str, *extra: tuple, owner: bool = True) -> tuple:
    """Common properties, then `(name, label, kind[, options])` rows, numbered in order."""
    specs = _common(group, modified, owner)
    for row in extra:
        name, label, kind, *options = row
        specs.append(
            PropertySpec(
                name,
                label,
                kind,
                group,
                f"{label}.",
                tuple(options[0]) if options else (),
                hubspot_defined=True,
            )  # fmt: skip
        )
    return tuple(dataclasses.replace(s, display_order=k) for k, s in enumerate(specs))


COMPANIES = ObjectType(
    "companies", "company", "0-2", "companyinformation",
    _specs("companyinformation", "hs_lastmodifieddate",
           ("name", "Company name", STRING), ("domain", "Company Domain Name", STRING),
           ("industry", "Industry", SELECT, INDUSTRIES), ("city", "City", STRING),
           ("country", "Country/Region", STRING), ("phone", "Phone Number", PHONE),
           ("numberofemployees", "Number of Employees", NUMBER),
           ("annualrevenue", "Annual Revenue", NUMBER),
           ("lifecyclestage", "Lifecycle Stage", SELECT, LIFECYCLE_STAGES),
           ("description", "Description", TEXTAREA)),
    ("name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"),
    query_properties=("name", "domain", "phone"),
    per_thousand_deals=250, first_id=6_000_000_000, id_step_bits=5,
)  # fmt: skip
CONTACTS = ObjectType(
    "contacts", "contact", "0-1", "contactinformation",
    _specs("contactinformation", "lastmodifieddate",
           ("email", "Email", STRING), ("firstname", "First Name", STRING),
           ("lastname", "Last Name", STRING), ("phone", "Phone Number", PHONE),
           ("company", "Company Name", STRING), ("jobtitle", "Job Title", STRING),
           ("website", "Website URL", STRING),
           ("lifecyclestage", "Lifecycle Stage", SELECT, LIFECYCLE_STAGES),
           ("city", "City", STRING),
           ("hs_email_optout", "Unsubscribed from all email", BOOL, BOOL_OPTIONS)),
    ("firstname", "lastname", "email", "createdate", "lastmodifieddate", "hs_object_id"),
    modified_property="lastmodifieddate",
    query_properties=("firstname", "lastname", "email", "phone", "company"),
    unique_property="email", per_thousand_deals=500, first_id=100_001, id_step_bits=3,
)  # fmt: skip
LINE_ITEMS = ObjectType(
    "line_items", "line_item", "0-8", "lineiteminformation",
    _specs("lineiteminformation", "hs_lastmodifieddate",
           ("name", "Name", STRING), ("quantity", "Quantity", NUMBER),
           ("price", "Unit price", NUMBER), ("amount", "Net price", NUMBER),
           ("hs_sku", "SKU", STRING), ("description", "Description", TEXTAREA), owner=False),
    ("name", "quantity", "price", "createdate", "hs_lastmodifieddate", "hs_object_id"),
    query_properties=("name", "hs_sku"),
    per_thousand_deals=1_000, first_id=30_000_000_000, id_step_bits=4,
)  # fmt: skip
LEADS = ObjectType(
    "leads", "lead", "0-136", "lead_information",
    _specs("lead_information", "hs_lastmodifieddate",
           ("hs_lead_name", "Lead name", STRING), ("hs_lead_type", "Lead type", SELECT,
                                                   LEAD_TYPES),
           ("hs_lead_label", "Lead label", SELECT, LEAD_LABELS),
           ("hs_pipeline", "Pipeline", SELECT, (("lead-pipeline-id", "Lead pipeline"),)),
           ("hs_pipeline_stage", "Lead stage", SELECT, LEAD_STAGES)),
    ("hs_lead_name", "createdate", "hs_lastmodifieddate", "hs_object_id"),
    query_properties=("hs_lead_name",),
    per_thousand_deals=100, first_id=40_000_000_000, id_step_bits=4,
)  # fmt: skip
# Deals are served by `account.py`; this declaration carries their names, id and scopes only
# (their properties come from the account, with its custom ones).
DEALS = ObjectType("deals", "deal", "0-3", "dealinformation", (), ())


def _activity(name: str, singular: str, type_id: str, group: str, *extra: tuple) -> ObjectType:
    props = _specs(group, "hs_lastmodifieddate", ("hs_timestamp", "Activity date", DATETIME),
                   *extra)  # fmt: skip
    return ObjectType(name, singular, type_id, group, props, tuple(p.name for p in props[:3]))


# Types with no records here: their property definitions answer discovery, their lists are empty.
DISCOVERY_ONLY = (
    _activity("calls", "call", "0-48", "call", ("hs_call_title", "Call Title", STRING),
              ("hs_call_duration", "Call duration", NUMBER)),
    _activity("emails", "email", "0-49", "email", ("hs_email_subject", "Subject", STRING)),
    _activity("meetings", "meeting", "0-47", "meeting", ("hs_meeting_title", "Title", STRING)),
    _activity("notes", "note", "0-46", "note", ("hs_note_body", "Note body", TEXTAREA)),
    _activity("tasks", "task", "0-27", "task", ("hs_task_subject", "Subject", STRING)),
    _activity("communications", "communication", "0-18", "communication",
              ("hs_communication_body", "Body", TEXTAREA)),
    _activity("postal_mail", "postal_mail", "0-116", "postal_mail",
              ("hs_postal_mail_body", "Body", TEXTAREA)),
    _activity("tickets", "ticket", "0-5", "ticketinformation", ("subject", "Ticket name", STRING)),
    _activity("products", "product", "0-7", "productinformation", ("name", "Name", STRING)),
    _activity("quotes", "quote", "0-14", "quoteinformation", ("hs_title", "Title", STRING)),
    _activity("goal_targets", "goal_target", "0-74", "goal_target_information",
              ("hs_goal_name", "Goal name", STRING)),
    _activity("feedback_submissions", "feedback_submission", "0-19", "feedback_submission",
              ("hs_survey_name", "Survey name", STRING)),
    _activity("forms", "form", "0-28", "form", ("hs_form_name", "Form name", STRING)),
    # Airbyte's discovery asks for deal splits by this name; their type id is not published.
    _activity("deal_splits", "deal_split", "", "deal_split_information",
              ("hs_split_percentage", "Split percentage", NUMBER)),
)  # fmt: skip

SEEDED = (COMPANIES, CONTACTS, LINE_ITEMS, LEADS)
ALL = (DEALS, *SEEDED, *DISCOVERY_ONLY)
_BY_NAME = {key.lower(): t for t in ALL for key in (t.name, t.singular, t.type_id) if key}


def resolve(name: str) -> ObjectType | None:
    """The object type a path names: plural, singular or type id, in any case."""
    return _BY_NAME.get(name.lower())
