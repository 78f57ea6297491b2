"""GraphQL over HTTP to Dagster's webserver: sessions, timeouts, joined reads and recent answers.

Dagster answers typed errors with HTTP 200, resolver errors with HTTP 500 *and* a GraphQL body,
invalid queries with 400: the body is always parsed, the HTTP status never trusted alone (see
DAGSTER-GRAPHQL.md). An unreachable or silent webserver becomes `DagsterUnavailable` (503) within
the connect/read timeouts, never a hang.
"""

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import requests

from api_shim.errors import DagsterError, DagsterUnavailable, redact
from api_shim.settings import ApiSettings


class _Flight:
    """One GraphQL read under way, whose answer every identical concurrent read shares."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.data: dict[str, Any] | None = None
        self.error: BaseException | None = None


@dataclass
class _Recent:
    """A recent answer to a runs query, and the mutation generation it was read in."""

    data: dict[str, Any]
    read_at: float
    generation: int
    refreshing: bool = False


RECENT_RUNS_LIMIT = 2048  # runs queries remembered (one per scan polled, plus list pages)


class GraphQLTransport:
    """GraphQL over HTTP to Dagster's webserver, with timeouts: `execute` sends a document,
    `read` joins identical reads under way, `_recent_read` serves recent runs answers.

    Runs queries (what a status, a results page or a list asks first) are answered from a recent
    answer when it is younger than `runs_cache_seconds / 4`. Between that and
    `runs_cache_seconds`, the recent answer is served while one background read replaces it, so
    clients polling a scan never wait for Dagster and no answer is older than
    `runs_cache_seconds`. Any mutation this shim sends (start, cancel, remove, marks) forgets
    every recent answer, so the shim's own changes show at once; `fresh` reads, made before a
    decision, always ask Dagster.
    """

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.url = settings.dagster_graphql_url
        self._local = threading.local()
        self._flights: dict[str, _Flight] = {}
        self._flights_lock = threading.Lock()
        self._recent: OrderedDict[str, _Recent] = OrderedDict()
        self._generation = 0  # counts this shim's mutations

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # a proxy from the environment must not see Dagster calls
            self._local.session = session
        return session

    def read(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """A read-only query; identical reads already under way are joined, not repeated.

        Many clients polling one scan then cost Dagster one query at a time, and no answer is
        older than a request that was already in flight when the client asked (no caching).
        """
        key = query + "\0" + json.dumps(variables or {}, sort_keys=True)
        with self._flights_lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if leader:
            try:
                flight.data = self.execute(query, variables)
            except BaseException as exc:
                flight.error = exc
            finally:
                with self._flights_lock:
                    del self._flights[key]
                flight.done.set()
        else:
            wait = self.settings.dagster_connect_timeout_seconds
            flight.done.wait(wait + self.settings.dagster_timeout_seconds + 1)
        if flight.error is not None:
            raise flight.error
        if flight.data is None:
            raise DagsterUnavailable(f"Dagster did not answer in time at {self.url}")
        return flight.data

    def _recent_read(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """`read`, answered from a recent answer when there is one (see the class)."""
        window = self.settings.dagster_runs_cache_seconds
        if window <= 0:
            return self.read(query, variables)
        key = query + "\0" + json.dumps(variables, sort_keys=True)
        now = time.monotonic()
        with self._flights_lock:
            recent = self._recent.get(key)
            if recent is not None and recent.generation == self._generation:
                age = now - recent.read_at
                if age < window / 4:
                    return recent.data
                if age < window:
                    if not recent.refreshing:
                        recent.refreshing = True
                        threading.Thread(
                            target=self._refresh, args=(key, query, variables), daemon=True
                        ).start()
                    return recent.data
            generation = self._generation
        data = self.read(query, variables)
        self._remember(key, data, now, generation)
        return data

    def _refresh(self, key: str, query: str, variables: dict[str, Any]) -> None:
        with self._flights_lock:
            generation = self._generation
        started = time.monotonic()
        try:
            data = self.read(query, variables)
        except Exception:  # the next request reads (and reports the failure) itself
            with self._flights_lock:
                recent = self._recent.get(key)
                if recent is not None:
                    recent.refreshing = False
            return
        self._remember(key, data, started, generation)

    def _remember(self, key: str, data: dict[str, Any], read_at: float, generation: int) -> None:
        with self._flights_lock:
            if generation != self._generation:
                return  # read before one of this shim's mutations: may not show it
            self._recent[key] = _Recent(data, read_at, generation)
            self._recent.move_to_end(key)
            while len(self._recent) > RECENT_RUNS_LIMIT:
                self._recent.popitem(last=False)

    def _forget_recent(self) -> None:
        with self._flights_lock:
            self._generation += 1
            self._recent.clear()

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Runs one GraphQL document and returns its `data`."""
        if query.lstrip().startswith("mutation"):
            try:
                return self._execute(query, variables)
            finally:
                self._forget_recent()
        return self._execute(query, variables)

    def _execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        timeout = (
            self.settings.dagster_connect_timeout_seconds,
            self.settings.dagster_timeout_seconds,
        )
        try:
            response = self._session().post(
                self.url, json={"query": query, "variables": variables or {}}, timeout=timeout
            )
        except requests.ConnectionError as exc:
            if isinstance(exc, requests.ConnectTimeout):
                reason = f"no connection within {timeout[0]:g}s"
            elif isinstance(exc, requests.ReadTimeout):
                reason = f"no answer within {timeout[1]:g}s"
            else:
                reason = "connection refused"
            raise DagsterUnavailable(
                f"Dagster is unreachable at {self.url}: {reason}. "
                "Is the Dagster webserver (dagster dev or dagster-webserver) running?"
            ) from None
        except requests.Timeout:
            raise DagsterUnavailable(
                f"Dagster did not answer within {timeout[1]:g}s at {self.url}"
            ) from None
        except requests.RequestException as exc:
            raise DagsterUnavailable(f"Dagster request failed: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            raise DagsterUnavailable(
                f"Dagster answered HTTP {response.status_code} without a GraphQL body at "
                f"{self.url} (is HUBSPOT_DEALS_API_DAGSTER_GRAPHQL_URL right?)"
            ) from None
        if not isinstance(body, dict):
            raise DagsterError("Dagster answered with an unexpected GraphQL body")
        if body.get("errors") and not body.get("data"):
            messages = "; ".join(str(e.get("message", e)) for e in body["errors"][:3])
            raise DagsterError(f"Dagster GraphQL error: {redact(messages)[:500]}")
        return body.get("data") or {}

    @staticmethod
    def _typed(data: dict[str, Any], name: str) -> dict[str, Any]:
        result = data.get(name)
        if not isinstance(result, dict):
            raise DagsterError(f"Dagster returned no {name} result")
        if result.get("__typename") == "PythonError":
            raise DagsterError(f"Dagster error in {name}: {redact(str(result.get('message')))}")
        return result
