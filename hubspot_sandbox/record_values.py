"""Generated property values of seeded companies, contacts, line items and leads.

One function per object type turns a seeded `random.Random` into a record's HubSpot-defined
values (strings or None, some "" like HubSpot's cleared values). Contacts' emails are unique by
construction (they carry the record's index), as HubSpot requires.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from hubspot_sandbox import sample_data
from hubspot_sandbox.object_types import INDUSTRIES, LEAD_LABELS, LEAD_STAGES, LEAD_TYPES

Values = dict[str, str | None]
_CITIES = ("Berlin", "Zürich", "São Paulo", "東京", "Kraków", "Lyon", "Boston", "Montréal")
_TITLES = ("CFO", "Head of Procurement", "Ingénieur système", "VP Sales", "IT-Leiter", None)
_STAGES = ("lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")


def _pick(rng: random.Random, values: tuple, empty: float = 0.1) -> str | None:
    r = rng.random()
    if r < empty / 2:
        return None
    if r < empty:
        return ""
    return rng.choice(values)


def _slug(text: str) -> str:
    ascii_text = sample_data.ascii_fold(text)
    return "".join(c for c in ascii_text if c.isalnum()) or "co"


def company(rng: random.Random, index: int, owners: list[str]) -> Values:
    name = rng.choice(sample_data.COMPANIES)
    return {
        "name": f"{name} {index}" if rng.random() < 0.5 else name,
        "domain": f"{_slug(name)}{index}.example.com",
        "industry": _pick(rng, tuple(v for v, _ in INDUSTRIES)),
        "city": _pick(rng, _CITIES),
        "country": _pick(rng, ("Germany", "Switzerland", "Brazil", "Japan", "Poland", "USA")),
        "phone": _pick(rng, sample_data.PHONES, 0.3),
        "numberofemployees": str(rng.randrange(1, 5_000)) if rng.random() < 0.8 else None,
        "annualrevenue": str(rng.randrange(1, 900) * 10_000) if rng.random() < 0.6 else None,
        "lifecyclestage": _pick(rng, _STAGES),
        "description": _pick(rng, sample_data.TEXTS, 0.5),
        "hubspot_owner_id": rng.choice(owners) if rng.random() < 0.85 else None,
    }


def contact(rng: random.Random, index: int, owners: list[str]) -> Values:
    first = rng.choice(sample_data.FIRST_NAMES)
    last = rng.choice(sample_data.LAST_NAMES)
    email = f"{_slug(first)}.{_slug(last)}.{index}@example.org"
    return {
        "email": email,
        "firstname": first,
        "lastname": last if rng.random() < 0.95 else "",
        "phone": _pick(rng, sample_data.PHONES, 0.4),
        "company": _pick(rng, sample_data.COMPANIES, 0.3),
        "jobtitle": _pick(rng, tuple(t for t in _TITLES if t)),
        "lifecyclestage": _pick(rng, _STAGES),
        "city": _pick(rng, _CITIES),
        "hs_email_optout": rng.choice(("true", "false", None)),
        "hubspot_owner_id": rng.choice(owners) if rng.random() < 0.7 else None,
    }


def line_item(rng: random.Random, index: int, owners: list[str]) -> Values:
    quantity = rng.randrange(1, 50)
    price = rng.randrange(1, 2_000) * 5
    return {
        "name": rng.choice(sample_data.PRODUCTS),
        "quantity": str(quantity),
        "price": str(price),
        "amount": str(quantity * price),
        "hs_sku": f"SKU-{rng.randrange(10_000):04d}" if rng.random() < 0.8 else None,
        "description": _pick(rng, sample_data.TEXTS, 0.6),
    }


def lead(rng: random.Random, index: int, owners: list[str]) -> Values:
    return {
        "hs_lead_name": " ".join(
            (rng.choice(sample_data.FIRST_NAMES), rng.choice(sample_data.LAST_NAMES))
        ),
        "hs_lead_type": _pick(rng, tuple(v for v, _ in LEAD_TYPES)),
        "hs_lead_label": _pick(rng, tuple(v for v, _ in LEAD_LABELS)),
        "hs_pipeline": "lead-pipeline-id",
        "hs_pipeline_stage": rng.choice(tuple(v for v, _ in LEAD_STAGES)),
        "hubspot_owner_id": rng.choice(owners) if rng.random() < 0.9 else None,
    }


GENERATORS: dict[str, Callable[[random.Random, int, list[str]], Values]] = {
    "companies": company,
    "contacts": contact,
    "line_items": line_item,
    "leads": lead,
}
