"""The association graph between deals and their companies, contacts and line items.

Seeded associations are a function of (seed, deal index): most deals have one to three
companies (the first is the primary one, and some carry the custom "Reseller" label), zero to
three contacts (some labelled "Decision maker" or "Champion"), and the line items whose number
maps onto them (every line item belongs to exactly one deal). Changes made through the admin
routes replace a deal's list for one object type, so they cost memory only for deals touched.
Associations to archived records are not served, as on HubSpot.

Type ids and the HubSpot-defined labels are HubSpot's (deal-to-company primary 5, unlabeled 341,
deal-to-contact 3, deal-to-line-item 19, and their inverses); the custom labels' ids are
portal-specific on HubSpot and made up here.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubspot_sandbox.account import SandboxAccount
from hubspot_sandbox.deal_generation import mix64

HUBSPOT_DEFINED = "HUBSPOT_DEFINED"
USER_DEFINED = "USER_DEFINED"


@dataclass(frozen=True)
class AssociationType:
    category: str
    type_id: int
    label: str | None
    v3_name: str | None  # the `type` of v3's inline associations; None: not shown there

    def wire(self) -> dict[str, object]:
        return {"category": self.category, "typeId": self.type_id, "label": self.label}


def _t(category: str, type_id: int, label: str | None, v3: str | None = None) -> AssociationType:
    return AssociationType(category, type_id, label, v3)


# (from, to) -> every association type between them, as `/labels` lists them.
TYPES: dict[tuple[str, str], tuple[AssociationType, ...]] = {
    ("deals", "companies"): (_t(HUBSPOT_DEFINED, 5, "Primary", "deal_to_company"),
                             _t(HUBSPOT_DEFINED, 341, None, "deal_to_company_unlabeled"),
                             _t(USER_DEFINED, 26, "Reseller")),
    ("companies", "deals"): (_t(HUBSPOT_DEFINED, 6, "Primary", "company_to_deal"),
                             _t(HUBSPOT_DEFINED, 342, None, "company_to_deal_unlabeled"),
                             _t(USER_DEFINED, 27, "Reseller")),
    ("deals", "contacts"): (_t(HUBSPOT_DEFINED, 3, None, "deal_to_contact"),
                            _t(USER_DEFINED, 22, "Decision maker"),
                            _t(USER_DEFINED, 24, "Champion")),
    ("contacts", "deals"): (_t(HUBSPOT_DEFINED, 4, None, "contact_to_deal"),
                            _t(USER_DEFINED, 23, "Decision maker"),
                            _t(USER_DEFINED, 25, "Champion")),
    ("deals", "line_items"): (_t(HUBSPOT_DEFINED, 19, None, "deal_to_line_item"),),
    ("line_items", "deals"): (_t(HUBSPOT_DEFINED, 20, None, "line_item_to_deal"),),
}  # fmt: skip
TARGETS = ("companies", "contacts", "line_items")

# A deal's links to one object type: target index -> the type ids (deal side) of the link.
Links = dict[int, tuple[int, ...]]


def type_of(pair: tuple[str, str], type_id: int) -> AssociationType | None:
    return next((t for t in TYPES.get(pair, ()) if t.type_id == type_id), None)


def inverse_id(pair: tuple[str, str], type_id: int) -> int:
    """The id of the same link seen from the other side (deal 5 <-> company 6, ...)."""
    types = TYPES[pair]
    position = next(k for k, t in enumerate(types) if t.type_id == type_id)
    return TYPES[(pair[1], pair[0])][position].type_id


class AssociationGraph:
    """Deal <-> company/contact/line item links: seeded, then changed through the admin routes."""

    def __init__(self, account: SandboxAccount, counts: dict[str, int]) -> None:
        self.account = account
        self.counts = counts
        self._salt = mix64(account.seed * 0x2F0B3A49 + 0xA550C)
        self._changed: dict[tuple[int, str], Links] = {}
        self._reverse: dict[str, dict[int, list[int]]] = {}
        self._reverse_version = -1
        self.version = 0

    # ------------------------------------------------------------------ seeded links

    def _h(self, deal: int, k: int) -> int:
        return mix64(self._salt + deal * 131 + k)

    def _seeded(self, deal: int, to: str) -> Links:
        n = self.counts.get(to, 0)
        if n == 0 or deal >= self.account.deal_count:
            return {}
        links: Links = {}
        if to == "companies":
            h = self._h(deal, 0)
            wanted = (0, 1, 1, 1, 1, 1, 2, 3)[h & 7]
            for k in range(wanted):
                target = self._h(deal, 1 + k) % n
                if target in links:
                    continue
                ids = (5, 341) if not links else (341,)
                if (self._h(deal, 9 + k) & 15) == 0:
                    ids = (*ids, 26)
                links[target] = ids
        elif to == "contacts":
            wanted = (self._h(deal, 20) >> 3) % 4
            for k in range(wanted):
                target = self._h(deal, 21 + k) % n
                if target in links:
                    continue
                r = self._h(deal, 30 + k) % 10
                links[target] = (3, 22) if r < 3 else (3, 24) if r < 5 else (3,)
        elif to == "line_items":
            for target in self._line_items_near(deal, n):
                links[target] = (19,)
        return links

    def line_item_deal(self, item: int) -> int:
        """The seeded deal a line item belongs to: near its proportional place, jittered."""
        deals = self.account.deal_count
        n = self.counts["line_items"]
        base = (item * deals) // n
        return min(deals - 1, max(0, base + (self._h(item, 77) % 3) - 1))

    def _line_items_near(self, deal: int, n: int) -> list[int]:
        deals = self.account.deal_count
        lo = max(0, ((deal - 1) * n) // deals - 1)
        hi = min(n, ((deal + 2) * n) // deals + 2)
        return [j for j in range(lo, hi) if self.line_item_deal(j) == deal]

    # ------------------------------------------------------------------ reads

    def links(self, deal: int, to: str) -> Links:
        """A deal's links to one object type (archived targets included)."""
        changed = self._changed.get((deal, to))
        return dict(changed) if changed is not None else self._seeded(deal, to)

    def reverse(self, to: str, target: int) -> list[int]:
        """The deals linked to one company/contact/line item, in deal order."""
        if self._reverse_version != self.version + self.account.version:
            self._reverse = {}
            self._reverse_version = self.version + self.account.version
        table = self._reverse.get(to)
        if table is None:
            table = {}
            for deal in range(self.account.total_deals):
                for t in self.links(deal, to):
                    table.setdefault(t, []).append(deal)
            self._reverse[to] = table
        return table.get(target, [])

    # ------------------------------------------------------------------ changes

    def set_link(self, deal: int, to: str, target: int, type_ids: tuple[int, ...]) -> None:
        """Adds (or relabels) one link; an empty `type_ids` removes it."""
        links = self.links(deal, to)
        if type_ids:
            if to == "companies" and 5 in type_ids:
                # one primary company per deal: the others lose the primary flag
                for other, ids in list(links.items()):
                    links[other] = tuple(i for i in ids if i != 5)
            links[target] = type_ids
        else:
            links.pop(target, None)
        self._changed[(deal, to)] = links
        self.version += 1
