"""The sandbox account's metadata: deal property specs, pipelines and owners.

Everything here is a pure function of (seed, sizes), so two servers with the same seed serve
byte-identical metadata. The deal values themselves are generated in `account.py`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from hubspot_sandbox.sample_data import OPTION_WORDS

# Property kinds: the (type, fieldType) pairs HubSpot uses for deal properties.
STRING = ("string", "text")
TEXTAREA = ("string", "textarea")
NUMBER = ("number", "number")
SELECT = ("enumeration", "select")
CHECKBOX = ("enumeration", "checkbox")
DATETIME = ("datetime", "date")
DATE = ("date", "date")
BOOL = ("bool", "booleancheckbox")
PHONE = ("phone_number", "phonenumber")

BOOL_OPTIONS = (("true", "Yes"), ("false", "No"))

# HubSpot returns these when a request names no properties (list, get, search, batch read).
DEFAULT_PROPERTIES = (
    "dealname",
    "amount",
    "closedate",
    "pipeline",
    "dealstage",
    "createdate",
    "hs_lastmodifieddate",
    "hs_object_id",
)
# HubSpot adds these to every object whatever was requested.
ALWAYS_INCLUDED = ("hs_object_id", "createdate", "hs_lastmodifieddate")
# Values HubSpot computes itself: the sandbox's admin routes refuse to set them.
READ_ONLY_PROPERTIES = frozenset(ALWAYS_INCLUDED)


@dataclass(frozen=True)
class PropertySpec:
    """One deal property: what `GET /crm/v3/properties/deals` describes."""

    name: str
    label: str
    kind: tuple[str, str]
    group_name: str
    description: str = ""
    options: tuple[tuple[str, str], ...] = ()
    hubspot_defined: bool = False
    calculated: bool = False
    read_only_value: bool = False
    external_options: bool = False
    referenced_object_type: str | None = None
    display_order: int = -1
    number_display_hint: str | None = None
    show_currency_symbol: bool | None = None

    @property
    def type(self) -> str:
        return self.kind[0]

    @property
    def field_type(self) -> str:
        return self.kind[1]


@dataclass(frozen=True)
class Stage:
    id: str
    label: str
    probability: str
    closed: bool

    @property
    def won(self) -> bool:
        return self.closed and float(self.probability) == 1.0


@dataclass(frozen=True)
class Pipeline:
    id: str
    label: str
    stages: tuple[Stage, ...]
    created_at: str
    updated_at: str
    weight: float = field(default=1.0, compare=False)


DEFAULT_PIPELINE_CREATED = "1970-01-01T00:00:00Z"  # HubSpot: default pipelines have createdAt 0

PIPELINES: tuple[Pipeline, ...] = (
    Pipeline(
        "default",
        "Sales Pipeline",
        (
            Stage("appointmentscheduled", "Appointment Scheduled", "0.2", False),
            Stage("qualifiedtobuy", "Qualified To Buy", "0.4", False),
            Stage("presentationscheduled", "Presentation Scheduled", "0.6", False),
            Stage("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
            Stage("contractsent", "Contract Sent", "0.9", False),
            Stage("closedwon", "Closed Won", "1.0", True),
            Stage("closedlost", "Closed Lost", "0.0", True),
        ),
        DEFAULT_PIPELINE_CREATED,
        "2023-05-11T09:14:27.318Z",
        weight=0.6,
    ),
    Pipeline(
        "75302811",
        "Enterprise – Neugeschäft",
        (
            Stage("148302411", "Discovery", "0.1", False),
            Stage("148302412", "Solution design", "0.3", False),
            Stage("148302413", "Proposal sent", "0.6", False),
            Stage("148302414", "Negotiation", "0.8", False),
            Stage("148302415", "Won", "1.0", True),
            Stage("148302416", "Lost", "0.0", True),
        ),
        "2021-03-04T10:11:12.345Z",
        "2024-02-19T16:40:03.902Z",
        weight=0.25,
    ),
    Pipeline(
        "75302812",
        "Renewals 更新",
        (
            Stage("148302421", "Upcoming renewal", "0.5", False),
            Stage("148302422", "In negotiation", "0.7", False),
            Stage("148302423", "Renewed", "1.0", True),
            Stage("148302424", "Churned", "0.0", True),
        ),
        "2022-08-22T07:05:55.010Z",
        "2025-01-07T12:00:41.777Z",
        weight=0.15,
    ),
)

_STANDARD_GROUP = "dealinformation"
_CUSTOM_GROUP = "deal_custom_properties"

_CUSTOM_CYCLE = (
    STRING,
    NUMBER,
    SELECT,
    DATETIME,
    CHECKBOX,
    BOOL,
    DATE,
    TEXTAREA,
    PHONE,
    NUMBER,
    STRING,
    SELECT,
)

_CUSTOM_STEMS: dict[tuple[str, str], tuple[str, ...]] = {
    STRING: (
        "partner_reference",
        "competitor_name",
        "use_case",
        "next_step_notes",
        "champion_name",
        "procurement_contact",
        "region_detail",
        "lost_reason_detail",
        "integration_notes",
        "referral_source",
    ),
    TEXTAREA: ("meeting_summary", "risk_assessment", "technical_requirements", "legal_notes"),
    NUMBER: (
        "seats",
        "contract_term_months",
        "discount_percent",
        "annual_recurring_revenue",
        "implementation_days",
        "expected_users",
    ),
    SELECT: (
        "deal_region",
        "product_line",
        "lead_source",
        "payment_terms",
        "billing_frequency",
        "customer_tier",
    ),
    CHECKBOX: (
        "modules_included",
        "integrations_requested",
        "languages_supported",
        "stakeholder_roles",
    ),
    DATETIME: ("demo_completed_at", "contract_sent_at", "last_contacted_at", "security_review_at"),
    DATE: ("renewal_date", "go_live_date", "kickoff_date", "trial_end_date"),
    BOOL: ("is_strategic", "requires_legal_review", "has_poc", "multi_year"),
    PHONE: ("procurement_phone", "champion_phone"),
}


def _label_of(name: str) -> str:
    return name.replace("_", " ").capitalize()


def standard_property_specs(owner_options: tuple[tuple[str, str], ...] = ()) -> list[PropertySpec]:
    """HubSpot-defined deal properties, in the order the sandbox puts them on the wire."""
    stage_options = tuple(
        (stage.id, f"{stage.label} ({pipeline.label})")
        for pipeline in PIPELINES
        for stage in pipeline.stages
    )
    pipeline_options = tuple((p.id, p.label) for p in PIPELINES)
    g = _STANDARD_GROUP
    specs = [
        PropertySpec("hs_object_id", "Record ID", NUMBER, g, "The unique ID for this record.",
                     hubspot_defined=True, read_only_value=True, number_display_hint="unformatted"),
        PropertySpec("createdate", "Create Date", DATETIME, g, "Date the deal was created.",
                     hubspot_defined=True),
        PropertySpec("hs_lastmodifieddate", "Last Modified Date", DATETIME, g,
                     "Most recent timestamp of any property update for this deal.",
                     hubspot_defined=True, read_only_value=True),
        PropertySpec("closedate", "Close Date", DATETIME, g,
                     "Date the deal was closed. Set automatically by HubSpot.",
                     hubspot_defined=True),
        PropertySpec("hs_closed_won_date", "Closed Won Date", DATETIME, g,
                     "Date the deal was closed won.", hubspot_defined=True, calculated=True,
                     read_only_value=True),
        PropertySpec("dealname", "Deal Name", STRING, g, "The name given to this deal.",
                     hubspot_defined=True),
        PropertySpec("amount", "Amount", NUMBER, g, "The total amount of the deal.",
                     hubspot_defined=True, number_display_hint="currency",
                     show_currency_symbol=True),
        PropertySpec("dealstage", "Deal Stage", SELECT, g,
                     "The stage of the deal. Deal stages allow you to categorize and track the "
                     "progress of the deals that you are working on.",
                     stage_options, hubspot_defined=True),
        PropertySpec("pipeline", "Pipeline", SELECT, g,
                     "The pipeline the deal is in. This determines which stages are options "
                     "for the deal.", pipeline_options, hubspot_defined=True),
        PropertySpec("hs_deal_stage_probability", "Deal probability", NUMBER, g,
                     "The probability a deal will close. This defaults to the deal stage "
                     "probability setting.", hubspot_defined=True,
                     number_display_hint="probability"),
        PropertySpec("hs_forecast_amount", "Forecast amount", NUMBER, g,
                     "The deal's amount multiplied by its probability.", hubspot_defined=True,
                     calculated=True, read_only_value=True, number_display_hint="currency",
                     show_currency_symbol=True),
        PropertySpec("hs_is_closed", "Is Deal Closed?", BOOL, g,
                     "True if the deal is in a closed stage.", BOOL_OPTIONS,
                     hubspot_defined=True, calculated=True, read_only_value=True),
        PropertySpec("hs_is_closed_won", "Is Closed Won", BOOL, g,
                     "True if the deal was won.", BOOL_OPTIONS, hubspot_defined=True,
                     calculated=True, read_only_value=True),
        PropertySpec("dealtype", "Deal Type", SELECT, g,
                     "The type of deal. By default, categorize your deal as either New Business "
                     "or Existing Business.",
                     (("newbusiness", "New Business"), ("existingbusiness", "Existing Business")),
                     hubspot_defined=True),
        PropertySpec("hs_priority", "Priority", SELECT, g, "The priority of the deal.",
                     (("low", "Low"), ("medium", "Medium"), ("high", "High")),
                     hubspot_defined=True),
        PropertySpec("hubspot_owner_id", "Deal owner", SELECT, g,
                     "User the deal is assigned to.", owner_options, hubspot_defined=True,
                     external_options=True, referenced_object_type="OWNER"),
        PropertySpec("description", "Deal Description", TEXTAREA, g,
                     "Description of the deal.", hubspot_defined=True),
    ]  # fmt: skip
    return [dataclasses.replace(spec, display_order=order) for order, spec in enumerate(specs)]


def custom_property_specs(count: int) -> list[PropertySpec]:
    """`count` custom properties of mixed kinds; names depend only on their position."""
    specs: list[PropertySpec] = []
    seen: dict[tuple[str, str], int] = {}
    for k in range(count):
        kind = _CUSTOM_CYCLE[k % len(_CUSTOM_CYCLE)]
        j = seen.get(kind, 0)
        seen[kind] = j + 1
        stems = _CUSTOM_STEMS[kind]
        stem = stems[j % len(stems)]
        name = stem if j < len(stems) else f"{stem}_{j // len(stems) + 1}"
        options: tuple[tuple[str, str], ...] = ()
        if kind in (SELECT, CHECKBOX):
            width = 3 + k % 6
            options = tuple(OPTION_WORDS[(k + o) % len(OPTION_WORDS)] for o in range(width))
        elif kind == BOOL:
            options = BOOL_OPTIONS
        specs.append(
            PropertySpec(
                name,
                _label_of(name),
                kind,
                _CUSTOM_GROUP,
                f"Custom {kind[0]} property #{k + 1}: {_label_of(stem).lower()}.",
                options,
                display_order=-1,
                number_display_hint="formatted" if kind == NUMBER else None,
            )
        )
    return specs


def pipeline_objects() -> list[dict[str, Any]]:
    """`GET /crm/v3/pipelines/deals` results: stage metadata values are strings."""
    return [
        {
            "label": pipeline.label,
            "displayOrder": order,
            "id": pipeline.id,
            "stages": [
                {
                    "label": stage.label,
                    "displayOrder": stage_order,
                    "metadata": {
                        "isClosed": "true" if stage.closed else "false",
                        "probability": stage.probability,
                    },
                    "id": stage.id,
                    "createdAt": pipeline.created_at,
                    "updatedAt": pipeline.updated_at,
                    "archived": False,
                    "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                }
                for stage_order, stage in enumerate(pipeline.stages)
            ],
            "createdAt": pipeline.created_at,
            "updatedAt": pipeline.updated_at,
            "archived": False,
        }
        for order, pipeline in enumerate(PIPELINES)
    ]
