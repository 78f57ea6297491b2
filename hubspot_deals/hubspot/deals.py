"""How deals are read from HubSpot: which endpoint, in which order, at what cost.

- Live deals, no date range, properties fit in a URL: the list API, 100 deals a request.
- Live deals with a date range, or too many properties for a URL: the search API, 200 deals a
  request with the properties in the body, in windows of `hs_object_id > last id` so that its
  10,000-result cap is never reached (it draws on the separate search bucket, not the burst one).
- Archived deals (search never returns them): the list API with `archived=true`; when the
  properties do not fit in a URL, ids from the list API and then batch/read with the properties
  in the body.
"""

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from hubspot_deals.hubspot.client import HubSpotClient
from hubspot_deals.hubspot.columns import parse_hubspot_datetime
from hubspot_deals.hubspot.errors import HubSpotRequestError

log = logging.getLogger(__name__)
T = TypeVar("T")

DEALS_PATH = "/crm/v3/objects/deals"
SEARCH_PATH = "/crm/v3/objects/deals/search"
BATCH_READ_PATH = "/crm/v3/objects/deals/batch/read"
LIST_PAGE_SIZE = 100
SEARCH_PAGE_SIZE = 200
SEARCH_RESULT_CAP = 10_000
# HubSpot adds these to every response; requesting them keeps the columns stable.
ALWAYS_REQUESTED = ("hs_object_id", "createdate", "hs_lastmodifieddate")

Page = list[dict[str, Any]]
# Where a scan's deal reading resumes: {"phase": "live"|"archived"|"done", "after"?, "last_id"?}.
Cursor = dict[str, Any]
PageAndToken = tuple[Page, dict[str, Any] | None]


@dataclass(frozen=True)
class DealFilter:
    """A scan's filters: inclusive createdate range (UTC days), whether archived deals count,
    and, for incremental scans, the modification time deals must have reached."""

    start_date: date | None = None
    end_date: date | None = None
    include_archived: bool = False
    modified_since_ms: int | None = None

    @property
    def reads_archived(self) -> bool:
        """Incremental scans always look for deals archived since (archiving is a change)."""
        return self.include_archived or self.modified_since_ms is not None

    @property
    def searches_only(self) -> bool:
        """Filters the list API cannot apply: HubSpot must search."""
        return self.has_date_range or self.modified_since_ms is not None

    @property
    def has_date_range(self) -> bool:
        return self.start_date is not None or self.end_date is not None

    def bounds_ms(self) -> tuple[int | None, int | None]:
        lo = hi = None
        if self.start_date:
            lo = int(datetime.combine(self.start_date, time.min, UTC).timestamp() * 1000)
        if self.end_date:
            next_day = datetime.combine(self.end_date + timedelta(days=1), time.min, UTC)
            hi = int(next_day.timestamp() * 1000) - 1
        return lo, hi

    def search_filters(self) -> list[dict[str, str]]:
        lo, hi = self.bounds_ms()
        filters = []
        if self.modified_since_ms is not None:
            filters.append(
                {
                    "propertyName": "hs_lastmodifieddate",
                    "operator": "GTE",
                    "value": str(self.modified_since_ms),
                }
            )
        if lo is not None:
            filters.append({"propertyName": "createdate", "operator": "GTE", "value": str(lo)})
        if hi is not None:
            filters.append({"propertyName": "createdate", "operator": "LTE", "value": str(hi)})
        return filters

    def accepts(self, deal: dict[str, Any]) -> bool:
        """Client-side check of an archived deal, for the list API which cannot filter."""
        if self.modified_since_ms is not None:
            archived_at = parse_hubspot_datetime(deal.get("archivedAt") or "")
            changed = max(
                (
                    t
                    for t in (archived_at, parse_hubspot_datetime(deal.get("updatedAt") or ""))
                    if t
                ),
                default=None,
            )
            if changed is None or changed.timestamp() * 1000 < self.modified_since_ms:
                return False
        if not self.has_date_range:
            return True
        created = deal["properties"].get("createdate") or deal.get("createdAt")
        parsed = parse_hubspot_datetime(created) if created else None
        if parsed is None:
            return False
        ms = int(parsed.timestamp() * 1000)
        lo, hi = self.bounds_ms()
        return (lo is None or ms >= lo) and (hi is None or ms <= hi)


class DealReader:
    """Reads a scan's deals page by page with the cheapest strategy that is correct."""

    def __init__(
        self,
        client: HubSpotClient,
        properties: Sequence[str],
        deal_filter: DealFilter,
        max_url_length: int = 15_000,
    ) -> None:
        self.client = client
        self.properties = list(dict.fromkeys([*ALWAYS_REQUESTED, *properties]))
        self.filter = deal_filter
        self.max_url_length = max_url_length

    @property
    def properties_fit_in_url(self) -> bool:
        return self._list_url_length() <= self.max_url_length

    @property
    def live_strategy(self) -> str:
        if self.filter.searches_only or not self.properties_fit_in_url:
            return "search"
        return "list"

    @property
    def archived_strategy(self) -> str:
        return "list" if self.properties_fit_in_url else "ids+batch_read"

    def expected_live_total(self) -> int:
        """HubSpot's count of live deals matching the filters: one search request."""
        filters = self.filter.search_filters()
        body = {
            "filterGroups": [{"filters": filters}] if filters else [],
            "properties": ["hs_object_id"],
            "limit": 1,
        }
        return int(self.client.post(SEARCH_PATH, body).get("total", 0))

    def pages(self, start: Cursor | None = None) -> Iterator[tuple[Page, Cursor, str]]:
        """Pages of deals from `start` on, each with the cursor that resumes right after it and
        the phase ("live" or "archived") it was read in."""
        phases = ["live", *(["archived"] if self.filter.reads_archived else []), "done"]
        cursor: Cursor = dict(start) if start else {"phase": "live"}
        if cursor.get("phase") not in phases:
            cursor = {"phase": "live"}
        for i, phase in enumerate(phases[phases.index(cursor["phase"]) : -1]):
            resume = cursor if i == 0 else {"phase": phase}
            finished: Cursor = {"phase": phases[phases.index(phase) + 1]}
            for page, token in self._phase(phase, resume):
                if phase == "archived" and self.filter.searches_only:
                    page = [d for d in page if self.filter.accepts(d)]
                yield page, ({"phase": phase, **token} if token is not None else finished), phase

    def _phase(self, phase: str, resume: Cursor) -> Iterator[tuple[Page, dict | None]]:
        if phase == "live":
            if self.live_strategy == "search":
                return self._search_pages(int(resume.get("last_id") or 0))
            return self._unless_url_too_long(
                self._list_pages(self.properties, archived=False, after=resume.get("after")),
                lambda: self._search_pages(int(resume.get("last_id") or 0)),
            )
        if self.archived_strategy == "list":
            return self._unless_url_too_long(
                self._list_pages(self.properties, archived=True, after=resume.get("after")),
                lambda: self._batch_read_pages(archived=True, after=resume.get("after")),
            )
        return self._batch_read_pages(archived=True, after=resume.get("after"))

    def _unless_url_too_long(
        self, pages: Iterator[PageAndToken], fallback: Callable[[], Iterator[PageAndToken]]
    ) -> Iterator[PageAndToken]:
        """If HubSpot's URL limit is below our budget, its first page is a 414: switch paths."""
        try:
            first = next(pages, None)
        except HubSpotRequestError as exc:
            if exc.status != 414:
                raise
            length = self._list_url_length()
            self.max_url_length = min(self.max_url_length, length - 1)
            log.warning("HubSpot refused a %d-character URL; reading by body instead", length)
            yield from fallback()
            return
        if first is not None:
            yield first
            yield from pages

    def _list_url_length(self) -> int:
        params = {
            "limit": LIST_PAGE_SIZE,
            "archived": "false",
            "properties": ",".join(self.properties),
            "after": "X" * 64,
        }
        return self.client.url_length(DEALS_PATH, params)

    def _list_pages(
        self, properties: Sequence[str], archived: bool, after: str | None = None
    ) -> Iterator[PageAndToken]:
        params: dict[str, Any] = {
            "limit": LIST_PAGE_SIZE,
            "archived": "true" if archived else "false",
            "properties": ",".join(properties),
        }
        if after:
            params["after"] = after
        while True:
            body = self.client.get(DEALS_PATH, params)
            results = body.get("results") or []
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            last_id = int(results[-1]["id"]) if results else None
            yield results, ({"after": str(after), "last_id": last_id} if after else None)
            if not after:
                return
            params["after"] = after

    def _batch_read_pages(self, archived: bool, after: str | None = None) -> Iterator[PageAndToken]:
        for id_page, token in self._list_pages(["hs_object_id"], archived=archived, after=after):
            results: Page = []
            if id_page:
                body = {"inputs": [{"id": d["id"]} for d in id_page], "properties": self.properties}
                params = {"archived": "true" if archived else "false"}
                found = self.client.post(BATCH_READ_PATH, body, params=params)
                results = sorted(found.get("results") or [], key=lambda d: int(d["id"]))
            yield results, token

    def _search_pages(self, last_id: int = 0) -> Iterator[PageAndToken]:
        base_filters = self.filter.search_filters()
        while True:
            window = [
                *base_filters,
                {"propertyName": "hs_object_id", "operator": "GT", "value": str(last_id)},
            ]
            after = 0
            while True:
                body = {
                    "filterGroups": [{"filters": window}],
                    "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                    "properties": self.properties,
                    "limit": SEARCH_PAGE_SIZE,
                    "after": str(after),
                }
                resp = self.client.post(SEARCH_PATH, body)
                results = resp.get("results") or []
                nxt = ((resp.get("paging") or {}).get("next") or {}).get("after")
                if results:
                    last_id = int(results[-1]["id"])
                more = bool(nxt and results)
                yield results, ({"last_id": last_id} if more else None)
                if not more:
                    return
                after = int(nxt)
                if after + SEARCH_PAGE_SIZE > SEARCH_RESULT_CAP:
                    break  # next window starts after the last id seen


def prefetch(pages: Iterator[T], depth: int = 4) -> Iterator[T]:
    """Fetches the next pages on a thread while the caller types and loads the current one."""
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for page in pages:
                if stop.is_set():
                    return
                q.put(("page", page))
            q.put(("done", None))
        except BaseException as exc:  # re-raised in the consumer
            q.put(("error", exc))

    t = threading.Thread(target=work, name="hubspot-deal-pages", daemon=True)
    t.start()
    try:
        while True:
            kind, item = q.get()
            if kind == "page":
                yield item
            elif kind == "done":
                return
            else:
                raise item
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                t.join(timeout=0.05)
