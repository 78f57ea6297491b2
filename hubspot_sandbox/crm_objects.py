"""Everything around the deals of one sandbox account: the other object types' records and
property definitions, the association graph and the deals' stage history.

Built from the `SandboxAccount` alone, so tests compute the same ground truth the server serves:

    crm = CrmObjects(SandboxAccount(seed=7, deals=2_500))
    crm.stores["contacts"].wire(0), crm.deal_links(0, "companies"), crm.history.entries(0)
"""

from __future__ import annotations

from hubspot_sandbox.account import SandboxAccount
from hubspot_sandbox.associations import AssociationGraph, Links, inverse_id
from hubspot_sandbox.object_types import ALL, DEALS, SEEDED, ObjectType, resolve
from hubspot_sandbox.property_registry import PropertyRegistry
from hubspot_sandbox.records import ObjectStore
from hubspot_sandbox.stage_history import StageHistory


class CrmObjects:
    def __init__(self, account: SandboxAccount) -> None:
        self.account = account
        owner_ids = [o["id"] for o in account.owners()]
        self.registries: dict[str, PropertyRegistry] = {
            t.name: PropertyRegistry(t.name, t.properties) for t in ALL if t is not DEALS
        }
        deal_specs = [account.property_spec(n) for n in account.property_names()]
        self.registries["deals"] = PropertyRegistry("deals", [s for s in deal_specs if s])
        self.stores: dict[str, ObjectStore] = {
            t.name: ObjectStore(
                t,
                account.seed,
                account.deal_count * t.per_thousand_deals // 1000,
                owner_ids,
                self.registries[t.name],
            )
            for t in SEEDED
        }
        self.associations = AssociationGraph(
            account, {name: store.count for name, store in self.stores.items()}
        )
        self.history = StageHistory(account)

    def kind(self, name: str) -> ObjectType | None:
        return resolve(name)

    def deal_links(self, deal: int, to: str) -> Links:
        """A deal's live links to one object type: target index -> type ids."""
        store = self.stores[to]
        return {
            t: ids
            for t, ids in self.associations.links(deal, to).items()
            if not store.is_archived(t)
        }

    def links_of(self, from_name: str, index: int, to: str) -> list[tuple[int, tuple[int, ...]]]:
        """(target index, type ids seen from `from_name`) in target id order; archived ends are
        left out. One side of the pair is always `deals`."""
        if from_name == "deals":
            links = self.deal_links(index, to)
            return sorted(links.items())
        if to != "deals" or from_name not in self.stores:
            return []
        pair = ("deals", from_name)
        result = []
        for deal in self.associations.reverse(from_name, index):
            if self.account.is_archived(deal):
                continue
            ids = self.associations.links(deal, from_name).get(index, ())
            result.append((deal, tuple(inverse_id(pair, i) for i in ids)))
        return result

    def merge(self, name: str, primary: int, secondary: int, at_ms: int) -> int:
        """Merges two records of one type; the deals linked to either are linked to the new
        record (with the union of their association types)."""
        store = self.stores[name]
        linked = {old: list(self.associations.reverse(name, old)) for old in (primary, secondary)}
        new = store.merge(primary, secondary, at_ms)
        if name in self.associations.counts:
            for old, deals in linked.items():
                for deal in deals:
                    ids = self.associations.links(deal, name).get(old, ())
                    self.associations.set_link(deal, name, old, ())
                    kept = self.associations.links(deal, name).get(new, ())
                    self.associations.set_link(deal, name, new, tuple(dict.fromkeys(kept + ids)))
        return new

    def summary(self) -> dict[str, object]:
        return {name: store.summary() for name, store in self.stores.items()}
