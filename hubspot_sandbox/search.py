"""`POST /crm/v3/objects/deals/search`: execution (the request and filter typing are in
`search_request.py`).

Execution avoids scanning the account where it can: filters on hs_object_id (and on createdate,
which grows with the id) become an index range, a range with no other filter is counted and paged
arithmetically, and other filters are evaluated once per template row rather than once per deal.
Results of a query are cached until the account changes, so paging a query costs one evaluation.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from hubspot_sandbox.account import SandboxAccount
from hubspot_sandbox.search_request import (
    Filter,
    SearchLimits,
    SearchRequest,
    SearchValidationError,
    Typed,
    filter_converter,
    parse_search_request,
    stored_converter,
    value_predicate,
)

# Operators on hs_object_id and createdate that narrow the index range instead of filtering.
_RANGE_OPERATORS = frozenset({"EQ", "LT", "LTE", "GT", "GTE", "BETWEEN"})

__all__ = [
    "DealSearch",
    "Filter",
    "SearchLimits",
    "SearchRequest",
    "SearchValidationError",
    "parse_search_request",
]

# ---------------------------------------------------------------------- execution


@dataclass(frozen=True)
class _RangeResult:
    """Every live deal in [lo, hi), in index order (or reversed): counted without a scan."""

    lo: int
    hi: int
    descending: bool


class DealSearch:
    """Runs search requests against an account, caching each query's result until it changes."""

    def __init__(self, account: SandboxAccount, cache_size: int = 16) -> None:
        self.account = account
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[bytes, int], _RangeResult | list[int]] = OrderedDict()

    def run(self, request: SearchRequest) -> tuple[int, list[int]]:
        """(total, indexes of this page) for a validated request."""
        result = self._result(request)
        if isinstance(result, _RangeResult):
            return self._range_page(result, request.after, request.limit)
        return len(result), result[request.after : request.after + request.limit]

    def _range_page(self, r: _RangeResult, after: int, limit: int) -> tuple[int, list[int]]:
        acc = self.account
        total = r.hi - r.lo - acc.archived_between(r.lo, r.hi)
        first = acc.nth_live(r.lo, r.hi, after, r.descending)
        page: list[int] = []
        if first is None:
            return total, page
        step = -1 if r.descending else 1
        index = first
        while len(page) < limit and r.lo <= index < r.hi:
            if not acc.is_archived(index):
                page.append(index)
            index += step
        return total, page

    def _result(self, request: SearchRequest) -> _RangeResult | list[int]:
        key = (request.cache_key(), self.account.version)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        result = self._evaluate(request)
        self._cache[key] = result
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return result

    def _index_ordered(self, request: SearchRequest) -> bool:
        name = request.sort_property or "createdate"
        return name == "hs_object_id" or (
            name == "createdate" and self.account.createdate_follows_ids
        )

    def _evaluate(self, request: SearchRequest) -> _RangeResult | list[int]:
        groups = request.groups or ((),)
        ordered = self._index_ordered(request)
        extra = self._query_predicate(request.query) if request.query else None
        if len(groups) == 1:
            lo, hi, residual = self._plan(groups[0])
            if extra is not None:
                residual.append(extra)
            if not residual and ordered:
                return _RangeResult(lo, hi, request.descending)
            matched = self._scan(lo, hi, residual)
        else:
            found: set[int] = set()
            for group in groups:
                lo, hi, residual = self._plan(group)
                if extra is not None:
                    residual.append(extra)
                found.update(self._scan(lo, hi, residual))
            matched = sorted(found)
        if ordered:
            return matched[::-1] if request.descending else matched
        return self._sorted(matched, request.sort_property or "createdate", request.descending)

    def _scan(self, lo: int, hi: int, residual: list[Callable[[int], bool]]) -> list[int]:
        archived = self.account.is_archived
        if len(residual) == 1:
            test = residual[0]
            return [i for i in range(lo, hi) if test(i) and not archived(i)]
        return [i for i in range(lo, hi) if not archived(i) and all(test(i) for test in residual)]

    def _plan(self, group: tuple[Filter, ...]) -> tuple[int, int, list[Callable[[int], bool]]]:
        """An index range from the id/createdate filters, and tests for the rest."""
        acc = self.account
        lo, hi = 0, acc.total_deals
        residual: list[Callable[[int], bool]] = []
        for f in group:
            bounds = None
            if f.operator in _RANGE_OPERATORS:
                if f.property == "hs_object_id":
                    bounds = self._id_bounds(f)
                elif f.property == "createdate" and acc.createdate_follows_ids:
                    bounds = self._created_bounds(f)
            if bounds is None:
                residual.append(self._index_predicate(f))
                # filters answered per template row are cheap: test them before computed ones
                if acc.template_column(f.property) is not None:
                    residual.insert(0, residual.pop())
            else:
                lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
        return lo, max(lo, hi), residual

    def _id_bounds(self, f: Filter) -> tuple[int, int]:
        convert = filter_converter("number", f.property)
        at_least = self.account.first_index_with_id_at_least
        x = convert(f.value)
        assert isinstance(x, float)
        total = self.account.total_deals
        if f.operator == "GT":
            return at_least(math.floor(x) + 1), total
        if f.operator == "GTE":
            return at_least(math.ceil(x)), total
        if f.operator == "LT":
            return 0, at_least(math.ceil(x))
        if f.operator == "LTE":
            return 0, at_least(math.floor(x) + 1)
        if f.operator == "EQ":
            if not x.is_integer():
                return 0, 0
            return at_least(int(x)), at_least(int(x) + 1)
        high = convert(f.high_value)
        assert isinstance(high, float)
        return at_least(math.ceil(x)), at_least(math.floor(high) + 1)

    def _created_bounds(self, f: Filter) -> tuple[int, int]:
        convert = filter_converter("datetime", f.property)
        at_least = self.account.first_index_created_at_least
        x = convert(f.value)
        assert isinstance(x, int)
        total = self.account.total_deals
        if f.operator == "GT":
            return at_least(x + 1), total
        if f.operator == "GTE":
            return at_least(x), total
        if f.operator == "LT":
            return 0, at_least(x)
        if f.operator == "LTE":
            return 0, at_least(x + 1)
        if f.operator == "EQ":
            return at_least(x), at_least(x + 1)
        high = convert(f.high_value)
        assert isinstance(high, int)
        return at_least(x), at_least(high + 1)

    def typed_getter(self, name: str) -> Callable[[int], Typed]:
        """index -> the typed value of a property (None when it has no value)."""
        acc = self.account
        spec = acc.property_spec(name)
        if spec is None:
            return lambda index: None
        if name == "hs_object_id":
            return lambda index: float(acc.deal_id_int(index))
        if name == "createdate":
            return acc.created_ms
        if name == "hs_lastmodifieddate":
            return acc.modified_ms
        convert = stored_converter(spec.type)

        def typed(raw: str | None) -> Typed:
            return convert(raw) if raw else None

        column = acc.template_column(name)
        if column is None:
            return lambda index: typed(acc.property_value(index, name))
        rows = [typed(v) for v in column[0]]
        row_of = column[1]
        changed_of = acc.changed_properties

        def get(index: int) -> Typed:
            changed = changed_of(index)
            if changed is not None and name in changed:
                return typed(changed[name])
            return rows[row_of(index)]

        return get

    def _index_predicate(self, f: Filter) -> Callable[[int], bool]:
        acc = self.account
        spec = acc.property_spec(f.property)
        prop_type = spec.type if spec else None
        test = value_predicate(f, prop_type, multi=bool(spec and spec.field_type == "checkbox"))
        column = acc.template_column(f.property) if spec else None
        if column is None:
            getter = self.typed_getter(f.property)
            return lambda index: test(getter(index))
        # Evaluate the filter once per template row; only edited deals are tested one by one.
        convert = stored_converter(prop_type)
        row_ok = [test(convert(v) if v else None) for v in column[0]]
        row_of = column[1]
        changed_of = acc.changed_properties
        name = f.property

        def check(index: int) -> bool:
            changed = changed_of(index)
            if changed is not None and name in changed:
                raw = changed[name]
                return test(convert(raw) if raw else None)
            return row_ok[row_of(index)]

        return check

    def _query_predicate(self, query: str) -> Callable[[int], bool]:
        """`query`: every word must occur in the deal name (case-insensitive)."""
        words = query.lower().split()
        get = self.typed_getter("dealname")

        def check(index: int) -> bool:
            name = get(index)
            return isinstance(name, str) and all(w in name for w in words)

        return check

    def _sorted(self, matched: list[int], name: str, descending: bool) -> list[int]:
        """Sorted by the property (typed), ties and nulls in id order, nulls last."""
        get = self.typed_getter(name)
        keyed = [(get(i), i) for i in matched]
        present = [pair for pair in keyed if pair[0] is not None]
        missing = [i for value, i in keyed if value is None]
        try:
            present.sort(key=lambda pair: pair[0], reverse=descending)  # type: ignore[arg-type,return-value]
        except TypeError:  # mixed types after an edit: fall back to comparing strings
            present.sort(key=lambda pair: str(pair[0]), reverse=descending)
        return [i for _, i in present] + missing
