"""Generated values of the deals' custom properties, and HubSpot's number strings.

A custom property's value is drawn from a seeded `random.Random` by its kind (text, number,
enumeration, date, bool, phone), with HubSpot's null and cleared ("") values mixed in; the
account draws each template row's values here.
"""

from __future__ import annotations

import random

from hubspot_sandbox import sample_data
from hubspot_sandbox.catalog import (
    BOOL,
    CHECKBOX,
    DATE,
    DATETIME,
    NUMBER,
    PHONE,
    SELECT,
    STRING,
    TEXTAREA,
    PropertySpec,
)
from hubspot_sandbox.timestamps import date_from_ms, iso_from_ms


def format_number(value: float) -> str:
    """HubSpot's number strings: "500", "1234.5" (no trailing zeros, no exponent)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def custom_value(spec: PropertySpec, null_share: float, rng: random.Random) -> str | None:
    r = rng.random()
    if r < null_share:
        return None
    if r < null_share + 0.02:
        return ""  # HubSpot returns "" for cleared values
    kind = spec.kind
    if kind == STRING:
        text = rng.choice(sample_data.TEXTS)
        return f"{text} #{rng.randrange(1000)}" if rng.random() < 0.5 else text
    if kind == TEXTAREA:
        return "\n".join(rng.sample(sample_data.TEXTS, rng.randrange(1, 4)))
    if kind == NUMBER:
        r = rng.random()
        if r < 0.4:
            return str(rng.randrange(0, 100_000))
        if r < 0.8:
            return format_number(rng.uniform(-500, 100_000))
        return str(rng.randrange(0, 10))
    if kind == SELECT:
        return rng.choice(spec.options)[0]
    if kind == CHECKBOX:
        count = rng.randrange(1, min(4, len(spec.options)) + 1)
        picked = sorted(rng.sample(range(len(spec.options)), count))
        return ";".join(spec.options[i][0] for i in picked)
    if kind == DATETIME:
        return iso_from_ms(rng.randrange(1_546_300_800_000, 1_798_761_600_000))
    if kind == DATE:
        return date_from_ms(rng.randrange(1_546_300_800_000, 1_798_761_600_000))
    if kind == BOOL:
        return rng.choice(("true", "false"))
    if kind == PHONE:
        return rng.choice(sample_data.PHONES)
    raise AssertionError(kind)
