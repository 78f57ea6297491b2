"""How a CRM object's records are read from HubSpot: which endpoint, in which order, at what
cost. The object is a declaration (`objects.CrmObject`); deals are the first, and the wording
below speaks of deals.

- Live deals, no date range, properties fit in a URL: the list API, 100 deals a request.
- Live deals with a date range, or too many properties for a URL: the search API, 200 deals a
  request with the properties in the body, in windows of `hs_object_id > last id` so that its
  10,000-result cap is never reached (it draws on the separate search bucket, not the burst one).
- A full scan against a rate-limited token uses both buckets at once: the burst bucket reads
  upwards from the lowest id (list, or ids and batch/read when the properties do not fit in a
  URL) while the search bucket reads downwards from the highest, until the two meet. Where the
  portal counts searches in the burst bucket too, both readers are paced on it (see
  `pacing.RateLimitBuckets`), and search still pays with its 200-deal pages.
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

from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.columns import parse_hubspot_datetime
from hubspot_deals.source.errors import HubSpotRequestError
from hubspot_deals.source.objects import DEALS, CrmObject

log = logging.getLogger(__name__)
T = TypeVar("T")

LIST_PAGE_SIZE = 100
SEARCH_PAGE_SIZE = 200
SEARCH_RESULT_CAP = 10_000
# Search reads alongside the burst bucket when it adds at least this share of its capacity.
SEARCH_SHARE_WORTH_ADDING = 0.1

Page = list[dict[str, Any]]
# Where a scan's deal reading resumes: {"phase": "live"|"archived"|"done", "after"?, "last_id"?}.
Cursor = dict[str, Any]
PageAndToken = tuple[Page, dict[str, Any] | None]


@dataclass(frozen=True)
class ScanFilter:
    """A scan's filters: inclusive createdate range (UTC days), one pipeline (its id), whether
    archived deals count, and, for incremental scans, the modification time deals must have
    reached; over the records of `crm_object` (its properties name what is filtered)."""

    start_date: date | None = None
    end_date: date | None = None
    include_archived: bool = False
    modified_since_ms: int | None = None
    pipeline: str | None = None
    crm_object: CrmObject = DEALS

    @property
    def reads_archived(self) -> bool:
        """Incremental scans always look for deals archived since (archiving is a change)."""
        return self.include_archived or self.modified_since_ms is not None

    @property
    def searches_only(self) -> bool:
        """Filters the list API cannot apply: HubSpot must search."""
        return self.narrows or self.modified_since_ms is not None

    @property
    def has_date_range(self) -> bool:
        return self.start_date is not None or self.end_date is not None

    @property
    def narrows(self) -> bool:
        """Whether the scan reads only part of the portal's deals (a date range or a pipeline)."""
        return self.has_date_range or self.pipeline is not None

    @property
    def needed_properties(self) -> tuple[str, ...]:
        """Properties every scan reads; with a pipeline filter also `pipeline`, which archived
        deals are checked against here (the list API cannot filter)."""
        obj = self.crm_object
        return obj.default_properties + (
            (obj.pipeline_property,) if self.pipeline is not None else ()
        )

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
        obj = self.crm_object
        filters = []
        if self.modified_since_ms is not None:
            filters.append(
                {
                    "propertyName": obj.modified_property,
                    "operator": "GTE",
                    "value": str(self.modified_since_ms),
                }
            )
        if self.pipeline is not None:
            filters.append(
                {"propertyName": obj.pipeline_property, "operator": "EQ", "value": self.pipeline}
            )
        created = obj.created_property
        if lo is not None:
            filters.append({"propertyName": created, "operator": "GTE", "value": str(lo)})
        if hi is not None:
            filters.append({"propertyName": created, "operator": "LTE", "value": str(hi)})
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
        obj = self.crm_object
        props = deal["properties"]
        if self.pipeline is not None and props.get(obj.pipeline_property) != self.pipeline:
            return False
        if not self.has_date_range:
            return True
        created = deal["properties"].get(obj.created_property) or deal.get("createdAt")
        parsed = parse_hubspot_datetime(created) if created else None
        if parsed is None:
            return False
        ms = int(parsed.timestamp() * 1000)
        lo, hi = self.bounds_ms()
        return (lo is None or ms >= lo) and (hi is None or ms <= hi)


class ObjectReader:
    """Reads a scan's records of one CRM object (the filter's) page by page with the cheapest
    strategy that is correct."""

    def __init__(
        self,
        client: HubSpotClient,
        properties: Sequence[str],
        deal_filter: ScanFilter,
        max_url_length: int = 15_000,
    ) -> None:
        self.client = client
        self.properties = list(dict.fromkeys([*deal_filter.needed_properties, *properties]))
        self.filter = deal_filter
        self.crm_object = deal_filter.crm_object
        self.max_url_length = max_url_length
        # Set when the reading ran elsewhere (the reader process), which a 414 can change.
        self.strategy_used: str | None = None

    @property
    def properties_fit_in_url(self) -> bool:
        return self._list_url_length() <= self.max_url_length

    @property
    def uses_both_buckets(self) -> bool:
        """Whether live deals are read from both ends at once: worth it when the burst bucket is
        rate-limited (its limit learned from HubSpot's headers) so that search adds capacity.

        Where search has a bucket of its own, its requests come on top of the burst bucket's.
        Where it shares the burst bucket, each search takes a burst request's place, and still
        pays: a search page holds 200 deals, a list page 100 (50 a request by ids and
        batch/read)."""
        if self.filter.searches_only:
            return False
        buckets = self.client.buckets
        if not buckets.burst.allowed:
            return False
        per_request = LIST_PAGE_SIZE if self.properties_fit_in_url else LIST_PAGE_SIZE / 2
        burst_rate = buckets.burst.allowed / buckets.burst.interval
        search_rate = (buckets.search.allowed or 0) / buckets.search.interval
        list_rate = burst_rate
        if buckets.search_shares_burst:
            search_rate = min(search_rate, burst_rate)
            list_rate = burst_rate - search_rate
        alone = burst_rate * per_request
        both = list_rate * per_request + search_rate * SEARCH_PAGE_SIZE
        return both - alone >= SEARCH_SHARE_WORTH_ADDING * alone

    @property
    def live_strategy(self) -> str:
        if self.strategy_used:
            return self.strategy_used
        if self.filter.searches_only:
            return "search"
        if self.uses_both_buckets:
            return ("list" if self.properties_fit_in_url else "ids+batch_read") + "+search"
        return "list" if self.properties_fit_in_url else "search"

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
        return int(self.client.post(self.crm_object.search_path, body).get("total", 0))

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
            strategy = self.live_strategy
            if strategy.endswith("+search") or "below" in resume:
                return self._both_buckets(resume, with_search=strategy.endswith("+search"))
            if strategy == "search":
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
        return self.client.url_length(self.crm_object.objects_path, params)

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
            body = self.client.get(self.crm_object.objects_path, params)
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
                found = self.client.post(self.crm_object.batch_read_path, body, params=params)
                results = sorted(found.get("results") or [], key=lambda d: int(d["id"]))
            yield results, token

    def _ascending_pages(self, after: str | None) -> Iterator[PageAndToken]:
        """Live deals upwards from `after` through the burst bucket, by its cheapest path."""
        if not self.properties_fit_in_url:
            return self._batch_read_pages(archived=False, after=after)
        return self._unless_url_too_long(
            self._list_pages(self.properties, archived=False, after=after),
            lambda: self._batch_read_pages(archived=False, after=after),
        )

    def _search_pages_downwards(
        self, meeting: "_MeetingPoint", below: int | None
    ) -> Iterator[tuple[Page, int]]:
        """Live deals downwards from `below` through the search bucket, each page with the id
        it was bounded below by: the ascending side's furthest id when its window began."""
        base_filters = self.filter.search_filters()
        while not meeting.met():
            floor = meeting.ascending_high()
            window = [
                *base_filters,
                {"propertyName": "hs_object_id", "operator": "GT", "value": str(floor)},
            ]
            if below is not None:
                window.append(
                    {"propertyName": "hs_object_id", "operator": "LT", "value": str(below)}
                )
            after = 0
            while True:
                results, nxt = self._search_page(window, "DESCENDING", after)
                if results:
                    below = int(results[-1]["id"])
                    meeting.search_reached(below)
                yield results, floor
                if not (nxt and results):
                    meeting.search_finished(floor)  # everything between floor and top is read
                    return
                after = int(nxt)
                if after + SEARCH_PAGE_SIZE > SEARCH_RESULT_CAP or meeting.met():
                    break  # a new window, bounded by where both sides are now

    def _both_buckets(self, resume: Cursor, with_search: bool) -> Iterator[PageAndToken]:
        """Live deals read upwards through the burst bucket and downwards through the search
        bucket at once, until the two meet. Each page is kept only for the ids the other side
        has not delivered, so every deal is delivered once; the cursor records how far each side
        has delivered (`after`/`last_id` upwards, `below` downwards)."""
        last_id = int(resume.get("last_id") or 0)
        below: int | None = resume.get("below")
        after: str | None = resume.get("after")
        meeting = _MeetingPoint(last_id, below)
        pages: queue.Queue[tuple[str, Any, Any]] = queue.Queue(maxsize=8)

        def ascending() -> Iterator[tuple[str, Any, Any]]:
            if meeting.met():
                return
            for page, token in self._ascending_pages(after):
                if page:
                    meeting.ascending_reached(int(page[-1]["id"]))
                if token is None:
                    meeting.ascending_finished()
                yield "up", page, token
                if token is None or meeting.met():
                    return

        def downwards() -> Iterator[tuple[str, Any, Any]]:
            with self.client.buckets.searching():  # the list leaves it spare places
                for page, floor in self._search_pages_downwards(meeting, below):
                    yield "down", page, floor

        producers = [ascending(), *([downwards()] if with_search else [])]
        running = len(producers)
        with _Producers(producers, pages) as threads:
            while running:
                kind, page, token = threads.get()
                if kind == "done":
                    running -= 1
                    continue
                if kind == "up":
                    kept = [d for d in page if last_id < int(d["id"]) < (below or _NO_ID)]
                    if page:
                        last_id = max(last_id, int(page[-1]["id"]))
                    after = token["after"] if token else after
                else:
                    kept = [d for d in page if last_id < int(d["id"]) < (below or _NO_ID)]
                    if kept:
                        below = int(kept[-1]["id"])
                if kept:
                    cursor: dict[str, Any] = {"after": after, "last_id": last_id}
                    if below is not None:
                        cursor["below"] = below
                    yield kept, cursor
        yield [], None

    def _search_page(
        self, window: list[dict[str, Any]], direction: str, after: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One search page of the window in `hs_object_id` order, and its `after` for the next."""
        body = {
            "filterGroups": [{"filters": window}],
            "sorts": [{"propertyName": "hs_object_id", "direction": direction}],
            "properties": self.properties,
            "limit": SEARCH_PAGE_SIZE,
            "after": str(after),
        }
        resp = self.client.post(self.crm_object.search_path, body)
        return resp.get("results") or [], ((resp.get("paging") or {}).get("next") or {}).get(
            "after"
        )

    def _search_pages(self, last_id: int = 0) -> Iterator[PageAndToken]:
        base_filters = self.filter.search_filters()
        while True:
            window = [
                *base_filters,
                {"propertyName": "hs_object_id", "operator": "GT", "value": str(last_id)},
            ]
            after = 0
            while True:
                results, nxt = self._search_page(window, "ASCENDING", after)
                if results:
                    last_id = int(results[-1]["id"])
                more = bool(nxt and results)
                yield results, ({"last_id": last_id} if more else None)
                if not more:
                    return
                after = int(nxt)
                if after + SEARCH_PAGE_SIZE > SEARCH_RESULT_CAP:
                    break  # next window starts after the last id seen


_NO_ID = 1 << 62  # above every HubSpot object id


class _MeetingPoint:
    """How far the upward (burst bucket) and downward (search bucket) readers have fetched;
    each stops once the ids it would fetch next are the other's."""

    def __init__(self, ascending_high: int, search_low: int | None) -> None:
        self._lock = threading.Lock()
        self._high = ascending_high
        self._low = _NO_ID if search_low is None else search_low
        self._search_done_above: int | None = None

    def ascending_high(self) -> int:
        with self._lock:
            return self._high

    def ascending_reached(self, deal_id: int) -> None:
        with self._lock:
            self._high = max(self._high, deal_id)

    def search_reached(self, deal_id: int) -> None:
        with self._lock:
            self._low = min(self._low, deal_id)

    def ascending_finished(self) -> None:
        """The upward side has read up to the last deal."""
        with self._lock:
            self._high = _NO_ID

    def search_finished(self, floor: int) -> None:
        """The search side has read every live deal above `floor`."""
        with self._lock:
            self._search_done_above = floor

    def met(self) -> bool:
        with self._lock:
            done = self._search_done_above
            return self._high >= self._low or (done is not None and self._high >= done)


class _Producers:
    """Runs iterators on threads into one queue; ("done", None, None) marks each one's end."""

    def __init__(self, producers: list[Iterator[tuple[str, Any, Any]]], q: queue.Queue) -> None:
        self.q = q
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(p,), daemon=True, name="hubspot-deal-pages")
            for p in producers
        ]

    def _run(self, producer: Iterator[tuple[str, Any, Any]]) -> None:
        try:
            for item in producer:
                if self.stop.is_set():
                    return
                self.q.put(item)
            self.q.put(("done", None, None))
        except BaseException as exc:  # re-raised in the consumer
            self.q.put(("error", exc, None))

    def __enter__(self) -> "_Producers":
        for t in self.threads:
            t.start()
        return self

    def get(self) -> tuple[str, Any, Any]:
        item = self.q.get()
        if item[0] == "error":
            raise item[1]
        return item

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        while any(t.is_alive() for t in self.threads):
            try:
                self.q.get_nowait()
            except queue.Empty:
                for t in self.threads:
                    t.join(timeout=0.05)


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
