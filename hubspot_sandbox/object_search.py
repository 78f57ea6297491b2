"""`POST /crm/v3/objects/{object}/search` for the generic object types.

The request is validated by the deals' `parse_search_request` and each filter is typed by the
deals' `value_predicate`, so both answer with the same semantics and limits. Only the execution
differs: the generic stores are small, so a query scans the live records once and caches the
matching indexes until the store changes. `query` looks for every word in the type's text
properties (contacts: names, email, phone, company), as a prefix of a word or inside an email.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from hubspot_sandbox.records import ObjectStore
from hubspot_sandbox.search_request import (
    Filter,
    SearchRequest,
    Typed,
    stored_converter,
    value_predicate,
    word_tokens,
)


class ObjectSearch:
    """Runs validated search requests against the generic stores, caching per query."""

    def __init__(self, cache_size: int = 16) -> None:
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, bytes, int], list[int]] = OrderedDict()

    def run(self, store: ObjectStore, request: SearchRequest) -> tuple[int, list[int]]:
        key = (store.kind.name, request.cache_key(), store.version)
        matched = self._cache.get(key)
        if matched is None:
            matched = self._evaluate(store, request)
            self._cache[key] = matched
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return len(matched), matched[request.after : request.after + request.limit]

    def _typed(self, store: ObjectStore, name: str) -> Callable[[dict], Typed]:
        spec = store.registry.spec_type(name)
        convert = stored_converter(spec[0] if spec else None)
        if name == "hs_object_id":
            return lambda values: float(values["hs_object_id"])

        def typed(values: dict) -> Typed:
            raw = values.get(name)
            return convert(raw) if raw else None

        return typed

    def _predicate(self, store: ObjectStore, f: Filter) -> Callable[[dict], bool]:
        spec = store.registry.spec_type(f.property)
        test = value_predicate(f, spec[0] if spec else None, bool(spec and spec[1] == "checkbox"))
        typed = self._typed(store, f.property)
        return lambda values: test(typed(values))

    def _query(self, store: ObjectStore, query: str) -> Callable[[dict], bool]:
        words = [w.lower() for w in query.split()]
        names = store.kind.query_properties

        def check(values: dict) -> bool:
            texts = [str(values.get(n) or "").lower() for n in names]
            tokens = [t for text in texts for t in word_tokens(text)]
            return all(
                any(t.startswith(w) for t in tokens) or any(w in text for text in texts)
                for w in words
            )

        return check

    def _evaluate(self, store: ObjectStore, request: SearchRequest) -> list[int]:
        groups = [[self._predicate(store, f) for f in group] for group in request.groups]
        query = self._query(store, request.query) if request.query else None
        matched: list[tuple[int, dict]] = []
        for index in store.live_indexes():
            values = store.properties(index)
            if groups and not any(all(p(values) for p in group) for group in groups):
                continue
            if query is not None and not query(values):
                continue
            matched.append((index, values))
        name = request.sort_property or "createdate"
        descending = request.descending if request.sort_property else False
        typed = self._typed(store, name)
        present = [(typed(v), i) for i, v in matched]
        missing = [i for value, i in present if value is None]
        ordered = [(value, i) for value, i in present if value is not None]
        ordered.sort(key=lambda pair: (pair[0], pair[1] if not descending else -pair[1]),
                     reverse=descending)  # fmt: skip
        return [i for _, i in ordered] + missing
