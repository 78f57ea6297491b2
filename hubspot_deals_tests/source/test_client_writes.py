"""Writes through the HubSpot client: a create is never sent twice on the client's own, an
update is retried like a read, and a 429 is always waited out and sent again (HubSpot refused
it before doing anything). A real HTTP server answers from a script and counts requests."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.errors import HubSpotRequestError, HubSpotWriteUncertain


class Scripted:
    """Answers each request with the next status of `script` (the last one repeats)."""

    def __init__(self) -> None:
        self.script: list[int] = [200]
        self.requests: list[str] = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                scripted.requests.append(f"{self.command} {self.path}")
                index = min(len(scripted.requests), len(scripted.script)) - 1
                status = scripted.script[index]
                body = b'{"id": "1", "properties": {}}' if status < 300 else b"{}"
                if status == 429:
                    body = b'{"status": "error", "policyName": "TEN_SECONDLY_ROLLING"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PATCH = do_DELETE = do_GET = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hubspot() -> Iterator[Scripted]:
    server = Scripted()
    yield server
    server.close()


def client(url: str) -> HubSpotClient:
    return HubSpotClient("pat-na1-test", url, max_attempts=3, max_backoff=0.01)


def test_a_create_met_by_a_5xx_is_sent_once_and_reported_uncertain(hubspot: Scripted) -> None:
    hubspot.script = [503, 201]
    with pytest.raises(HubSpotWriteUncertain) as raised:
        client(hubspot.url).write("POST", "/crm/v3/objects/contacts", {}, repeatable=False)
    assert raised.value.status == 503
    assert hubspot.requests == ["POST /crm/v3/objects/contacts"]


def test_a_create_whose_connection_drops_is_sent_once(hubspot: Scripted) -> None:
    url = hubspot.url
    hubspot.close()  # nothing listens: the connection is refused
    with pytest.raises(HubSpotWriteUncertain):
        client(url).write("POST", "/crm/v3/objects/contacts", {}, repeatable=False)


def test_an_update_is_retried_after_5xx(hubspot: Scripted) -> None:
    hubspot.script = [502, 503, 200]
    answer = client(hubspot.url).write(
        "PATCH", "/crm/v3/objects/contacts/1", {"properties": {}}, repeatable=True
    )
    assert answer["id"] == "1"
    assert hubspot.requests == ["PATCH /crm/v3/objects/contacts/1"] * 3


def test_a_create_refused_with_429_is_sent_again(hubspot: Scripted) -> None:
    hubspot.script = [429, 429, 201]
    answer = client(hubspot.url).write("POST", "/crm/v3/objects/contacts", {}, repeatable=False)
    assert answer["id"] == "1"
    assert len(hubspot.requests) == 3


def test_an_update_past_its_attempts_fails_as_a_request_error(hubspot: Scripted) -> None:
    hubspot.script = [500]
    with pytest.raises(HubSpotRequestError) as raised:
        client(hubspot.url).write("DELETE", "/crm/v3/objects/contacts/1", repeatable=True)
    assert not isinstance(raised.value, HubSpotWriteUncertain)
    assert len(hubspot.requests) == 3
