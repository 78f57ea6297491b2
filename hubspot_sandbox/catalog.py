"""The sandbox account's metadata: deal property specs, pipelines and owners.

Everything here is a pure function of (seed, sizes), so two servers with the same seed serve
byte-identical metadata. The deal values themselves are generated in `account.py`.
"""

from __future__ import annotations

import dataclasses
import random
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from hubspot_sandbox.timestamps import iso_from_ms

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

# Text with everything that breaks naive CSV/JSON/SQL handling: quotes, newlines, separators,
# non-Latin scripts, emoji, leading/trailing blanks, backslashes.
TEXTS = (
    "Follow up next week",
    'Customer said "yes, in principle"',
    "Needs sign-off; legal, finance and IT",
    "Café Müller — Zürich office",
    "日本語のメモ: 来週フォローアップ",
    "Kündigungsfrist: 3 Monate, schriftlich",
    "🚀 fast-track 🚀",
    "Line one\nLine two\nLine three",
    "Tab\tseparated\tnotes",
    "  padded with spaces  ",
    "C:\\exports\\deals\\q3.csv",
    "O'Reilly & Sons, Ltd.",
    "Ação necessária: revisão do contrato",
    "Δοκιμή ελληνικών χαρακτήρων",
    "Срочно: перезвонить клиенту",
    "数据迁移，第二阶段",
    '50% discount; net-30; "best and final"',
    "Emoji mix 👍🏽✅❌ — done",
    "Comma, separated, values, here",
    "<b>not html</b> & not escaped",
    "a" * 300,
    "Ünïcödé ñoño façade naïve",
    "Multi-paragraph:\n\n- item 1\n- item 2; with semicolon\n",
    '{"json": "inside a string"}',
)

COMPANIES = (
    "Acme Corp",
    "Café Müller GmbH",
    "Zürich Präzision AG",
    "株式会社日本テック",
    "O'Brien & Sons",
    'The "Big" Deal Co',
    "Smith, Jones; Partners",
    "Åkesson Trä AB",
    "Niño Diseño S.L.",
    "Łódź Logistics",
    "🚀 Rocket Labs",
    "Crème Brûlée Bakery",
    "Δέλτα Systems",
    "Москва Трейд",
    "北京数据有限公司",
    "São Paulo Soluções",
    "Fjørd Analytics",
    "Ünal Tekstil",
    "Northwind Traders",
    "Globex",
    "Initech",
    "Umbrella Health",
    "Stark Industries",
    "Wayne Enterprises",
    "Tyrell Corp",
    "Soylent",
    "Hooli",
    "Pied Piper",
    "Vandelay Industries",
    "Kōbe Steelworks",
)

PRODUCTS = (
    "Renewal",
    "Enterprise license",
    "Onboarding — phase 2",
    "Support plan (24/7)",
    "Upsell: 50 seats",
    "Pilot; EU region",
    "Migration, data & training",
    'Expansion "platinum"',
    "New business",
    "Professional services",
    "Add-on: analytics",
    "Multi-year renewal",
)

PHONES = (
    "+1 (555) 010-1234",
    "+33 1 23 45 67 89",
    "+49 30 123456-78",
    "+81 3-1234-5678",
    "+44 20 7946 0958",
    "555-0199",
    "+1 555 010 9999 ext. 42",
    "(0)30 12 34 56",
)

OPTION_WORDS = (
    ("north_america", "North America"),
    ("emea", "EMEA – Europe, Middle East & Africa"),
    ("apac", "APAC"),
    ("latam", "América Latina"),
    ("dach", "DACH (Deutschland, Österreich, Schweiz)"),
    ("nordics", "Norden"),
    ("japan", "日本"),
    ("other", "Other; misc"),
    ("tier_1", "Tier 1"),
    ("tier_2", "Tier 2"),
    ("self_serve", "Self-serve"),
    ("partner", 'Partner "channel"'),
    ("inbound", "Inbound"),
    ("outbound", "Outbound"),
)

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


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


_FIRST_NAMES = (
    "Ana", "Björn", "Chloé", "Dmitri", "Émile", "Fatima", "Günther", "Hiro", "Inès", "Jürgen",
    "Kenji", "Léa", "Mateo", "Noémie", "Olga", "Pádraig", "Quentin", "Renée", "Søren", "Tomás",
    "Uxue", "Valérie", "Wojciech", "Xiu", "Yūki", "Zoë",
)  # fmt: skip
_LAST_NAMES = (
    "Andersson", "Błaszczyk", "Castañeda", "Dubois", "Eriksen", "Fernández", "García", "Hoffmann",
    "Ishikawa", "Jovanović", "Kowalski", "López", "Müller", "Nakamura", "O'Neill", "Petrović",
    "Quiñones", "Rossi", "Schäfer", "Tanaka", "Urquhart", "Vasquez", "Weiß", "Yılmaz", "Zhang",
)  # fmt: skip
_TEAMS = (
    {"id": "41092", "name": "Field sales"},
    {"id": "41093", "name": "Inside sales — EMEA"},
    {"id": "41094", "name": "Customer success"},
)


def owners(seed: int, live: int, archived: int = 2) -> list[dict[str, Any]]:
    """`live` active owners then `archived` deactivated ones, each ordered by id."""
    rng = random.Random(f"hubspot-sandbox:{seed}:owners")
    result: list[dict[str, Any]] = []
    owner_id = 30_000_000 + rng.randrange(1_000_000)
    user_id = 5_000_000 + rng.randrange(1_000_000)
    base_ms = 1_577_836_800_000  # 2020-01-01
    for k in range(live + archived):
        owner_id += 1 + rng.randrange(5_000)
        user_id += 1 + rng.randrange(300)
        first = _FIRST_NAMES[(k + seed) % len(_FIRST_NAMES)]
        last = _LAST_NAMES[(k * 7 + seed) % len(_LAST_NAMES)]
        created = base_ms + rng.randrange(4 * 365 * 86_400_000)
        updated = created + rng.randrange(365 * 86_400_000)
        team = _TEAMS[k % len(_TEAMS)]
        is_archived = k >= live
        owner: dict[str, Any] = {
            "id": str(owner_id),
            "email": f"{_ascii(first)}.{_ascii(last).replace(chr(39), '')}{k + 1}@example.com",
            "type": "PERSON",
            "firstName": first,
            "lastName": last,
            "userId": user_id,
            "userIdIncludingInactive": user_id,
            "createdAt": iso_from_ms(created),
            "updatedAt": iso_from_ms(updated),
            "archived": is_archived,
            "teams": [{**team, "primary": True}],
        }
        if is_archived:
            owner["userId"] = None
        result.append(owner)
    return result


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
