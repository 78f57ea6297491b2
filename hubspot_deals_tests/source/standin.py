"""A second HubSpot CRM v3 stand-in, written from HubSpot's public API reference only.

It differs from the project's sandbox where HubSpot leaves room: opaque base64 list cursors, no
`paging.next.link`, no rate-limit headers, plain `application/json`, its own data. A scan that
loads this account exactly does not depend on the sandbox's particular choices.
"""

import base64
import json
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

DEFAULT_PROPS = [
    "dealname", "amount", "closedate", "pipeline", "dealstage", "createdate",
    "hs_lastmodifieddate", "hs_object_id",
]  # fmt: skip
PROPERTY_TYPES = {
    "dealname": ("string", "text"),
    "amount": ("number", "number"),
    "closedate": ("datetime", "date"),
    "pipeline": ("enumeration", "select"),
    "dealstage": ("enumeration", "select"),
    "createdate": ("datetime", "date"),
    "hs_lastmodifieddate": ("datetime", "date"),
    "hs_object_id": ("number", "number"),
    "is_hot": ("bool", "booleancheckbox"),
    "renewal_date": ("date", "date"),
    "score": ("number", "number"),
    "notes": ("string", "textarea"),
}
STAGES = ["appointmentscheduled", "qualifiedtobuy", "closedwon", "closedlost"]


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def make_deals(count: int = 250) -> list[dict[str, Any]]:
    base = datetime(2022, 3, 1, tzinfo=UTC)
    deals = []
    for i in range(count):
        deal_id = str(5_000_000 + 7 * i)
        created = base + timedelta(days=i * 3, hours=i % 24, milliseconds=i * 11)
        modified = created + timedelta(days=2, seconds=i)
        props: dict[str, str | None] = {
            "dealname": f'Deal «{i}» "quoted"\nsecond line' if i % 9 == 0 else f"Deal {i}",
            "amount": None if i % 13 == 0 else f"{(i * 137) % 9000 + 0.25:.2f}",
            "closedate": iso(created + timedelta(days=30)) if i % 5 else None,
            "pipeline": "default",
            "dealstage": STAGES[i % len(STAGES)],
            "createdate": iso(created),
            "hs_lastmodifieddate": iso(modified),
            "hs_object_id": deal_id,
            "is_hot": "true" if i % 3 == 0 else ("false" if i % 3 == 1 else ""),
            "renewal_date": (date(2024, 1, 1) + timedelta(days=i)).isoformat() if i % 4 else "",
            "score": "" if i % 7 == 0 else str(i % 100),
            "notes": "Zürich – 東京 ✓; a,b" if i % 6 == 0 else None,
        }
        deal: dict[str, Any] = {
            "id": deal_id,
            "properties": props,
            "createdAt": props["createdate"],
            "updatedAt": props["hs_lastmodifieddate"],
            "archived": i % 10 == 4,
        }
        if deal["archived"]:
            deal["archivedAt"] = iso(modified + timedelta(days=1))
        deals.append(deal)
    return deals


class StandIn:
    """Runs the stand-in on a free port in a thread of the test process."""

    def __init__(self, token: str, deals: int = 250) -> None:
        self.token = token
        self.deals = make_deals(deals)
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "StandIn":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def live(self) -> list[dict[str, Any]]:
        return [d for d in self.deals if not d["archived"]]

    def _view(self, deal: dict[str, Any], props: list[str]) -> dict[str, Any]:
        wanted = [p for p in (props or DEFAULT_PROPS) if p in PROPERTY_TYPES]
        for p in ("hs_object_id", "createdate", "hs_lastmodifieddate"):
            if p not in wanted:
                wanted.append(p)
        out = {k: v for k, v in deal.items() if k != "properties"}
        out["properties"] = {p: deal["properties"].get(p) for p in wanted}
        return out

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {standin.token}":
                    return True
                self._send(
                    401,
                    {
                        "status": "error",
                        "message": "Authentication credentials not found.",
                        "category": "INVALID_AUTHENTICATION",
                    },
                )
                return False

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                standin.requests.append("GET " + url.path)
                if not self._authorized():
                    return
                q = parse_qs(url.query)
                if url.path == "/crm/v3/properties/deals":
                    self._send(
                        200,
                        {
                            "results": [
                                {
                                    "name": n,
                                    "label": n.title(),
                                    "type": t,
                                    "fieldType": f,
                                    "groupName": "dealinformation",
                                    "description": "",
                                    "options": [],
                                    "hubspotDefined": n != "is_hot",
                                }
                                for n, (t, f) in PROPERTY_TYPES.items()
                            ]
                        },
                    )
                elif url.path == "/crm/v3/pipelines/deals":
                    self._send(
                        200,
                        {
                            "results": [
                                {
                                    "id": "default",
                                    "label": "Sales",
                                    "displayOrder": 0,
                                    "archived": False,
                                    "createdAt": "1970-01-01T00:00:00Z",
                                    "updatedAt": "1970-01-01T00:00:00Z",
                                    "stages": [
                                        {
                                            "id": s,
                                            "label": s,
                                            "displayOrder": i,
                                            "archived": False,
                                            "metadata": {
                                                "isClosed": str(s.startswith("closed")).lower(),
                                                "probability": "0.5",
                                            },
                                            "createdAt": "1970-01-01T00:00:00Z",
                                            "updatedAt": "1970-01-01T00:00:00Z",
                                        }
                                        for i, s in enumerate(STAGES)
                                    ],
                                }
                            ]
                        },
                    )
                elif url.path == "/crm/v3/owners":
                    archived = q.get("archived", ["false"])[0] == "true"
                    owners = (
                        []
                        if archived
                        else [
                            {
                                "id": "77",
                                "email": "ann@example.com",
                                "type": "PERSON",
                                "firstName": "Ann",
                                "lastName": "Lee",
                                "userId": 9,
                                "createdAt": "2020-01-01T00:00:00Z",
                                "updatedAt": "2020-01-01T00:00:00Z",
                                "archived": False,
                                "teams": [],
                            }
                        ]
                    )
                    self._send(200, {"results": owners})
                elif url.path == "/crm/v3/objects/deals":
                    archived = q.get("archived", ["false"])[0] == "true"
                    props = [p for v in q.get("properties", []) for p in v.split(",") if p]
                    limit = min(int(q.get("limit", ["10"])[0]), 100)
                    after = q.get("after", [None])[0]
                    start = int(base64.b64decode(after).decode().split(":")[1]) if after else 0
                    pool = [d for d in standin.deals if d["archived"] == archived]
                    page = pool[start : start + limit]
                    body: dict[str, Any] = {"results": [standin._view(d, props) for d in page]}
                    if start + limit < len(pool):
                        cursor = base64.b64encode(f"pos:{start + limit}".encode()).decode()
                        body["paging"] = {"next": {"after": cursor}}
                    self._send(200, body)
                else:
                    self._send(404, {"status": "error", "message": "not found"})

            def do_POST(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                standin.requests.append("POST " + url.path)
                if not self._authorized():
                    return
                req = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                if url.path == "/crm/v3/objects/deals/search":
                    self._send(200, standin._search(req))
                elif url.path == "/crm/v3/objects/deals/batch/read":
                    archived = "archived=true" in url.query
                    ids = {i["id"] for i in req["inputs"]}
                    found = [
                        standin._view(d, req.get("properties") or [])
                        for d in standin.deals
                        if d["id"] in ids and d["archived"] == archived
                    ]
                    self._send(200, {"status": "COMPLETE", "results": found})
                else:
                    self._send(404, {"status": "error", "message": "not found"})

        return Handler

    def _search(self, req: dict[str, Any]) -> dict[str, Any]:
        def value(deal: dict[str, Any], prop: str) -> float:
            raw = deal["properties"].get(prop)
            if raw is None:
                return float("nan")
            if PROPERTY_TYPES[prop][0] == "datetime":
                return datetime.fromisoformat(raw).timestamp() * 1000
            return float(raw)

        ops = {
            "GT": float.__gt__,
            "GTE": float.__ge__,
            "LT": float.__lt__,
            "LTE": float.__le__,
            "EQ": float.__eq__,
        }
        groups = req.get("filterGroups") or [{"filters": req.get("filters") or []}]

        def matches(deal: dict[str, Any]) -> bool:
            return any(
                all(
                    ops[f["operator"]](value(deal, f["propertyName"]), float(f["value"]))
                    for f in g.get("filters", [])
                )
                for g in groups
            )

        hits = [d for d in self.live() if matches(d)]
        for sort in req.get("sorts") or []:
            hits.sort(
                key=lambda d: value(d, sort["propertyName"]),
                reverse=sort.get("direction") == "DESCENDING",
            )
        limit = min(int(req.get("limit", 10)), 200)
        after = int(req.get("after") or 0)
        if after >= 10_000:
            return {"status": "error", "category": "VALIDATION_ERROR"}
        page = hits[after : after + limit]
        body: dict[str, Any] = {
            "total": len(hits),
            "results": [self._view(d, req.get("properties") or []) for d in page],
        }
        if after + limit < len(hits):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return body
