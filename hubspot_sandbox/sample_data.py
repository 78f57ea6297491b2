"""The sample words and people of the seeded account: texts that break naive CSV/JSON/SQL
handling, company and product names, phone numbers, option words, and the owners.

Pure data and pure functions of the seed, shared by the deals (`account.py`) and the other
object types (`record_values.py`).
"""

from __future__ import annotations

import random
import unicodedata
from typing import Any

from hubspot_sandbox.timestamps import iso_from_ms

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


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


FIRST_NAMES = (
    "Ana", "Björn", "Chloé", "Dmitri", "Émile", "Fatima", "Günther", "Hiro", "Inès", "Jürgen",
    "Kenji", "Léa", "Mateo", "Noémie", "Olga", "Pádraig", "Quentin", "Renée", "Søren", "Tomás",
    "Uxue", "Valérie", "Wojciech", "Xiu", "Yūki", "Zoë",
)  # fmt: skip
LAST_NAMES = (
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
        first = FIRST_NAMES[(k + seed) % len(FIRST_NAMES)]
        last = LAST_NAMES[(k * 7 + seed) % len(LAST_NAMES)]
        created = base_ms + rng.randrange(4 * 365 * 86_400_000)
        updated = created + rng.randrange(365 * 86_400_000)
        team = _TEAMS[k % len(_TEAMS)]
        is_archived = k >= live
        owner: dict[str, Any] = {
            "id": str(owner_id),
            "email": f"{ascii_fold(first)}.{ascii_fold(last).replace(chr(39), '')}{k + 1}"
            "@example.com",
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
