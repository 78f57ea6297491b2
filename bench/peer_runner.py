"""Runs one peer extractor's deals stream against the sandbox, inside that peer's own virtualenv.

    <peer venv>/bin/python bench/peer_runner.py meltano|airbyte BASE_URL TOKEN WORKDIR

Imports nothing of this project (the peer's venv does not have it). Both peers hard-code
HubSpot's host (Meltano's tap in each stream's `url_base`, Airbyte's source in its declarative
manifest and in `streams.BASE_URL`), so the one patch is at the transport: every request to
HubSpot's host goes to BASE_URL instead. The connector's messages go to stdout, where
`bench/peers.py` counts the records.
"""

import json
import sys
from pathlib import Path

import requests.adapters

HUBSPOT = "https://api.hubapi.com"


def send_to(base_url: str) -> None:
    send = requests.adapters.HTTPAdapter.send

    def rewritten(self, request, *args, **kwargs):  # noqa: ANN001, ANN202
        if request.url.startswith(HUBSPOT):
            request.url = base_url.rstrip("/") + request.url[len(HUBSPOT) :]
        return send(self, request, *args, **kwargs)

    requests.adapters.HTTPAdapter.send = rewritten


def meltano(token: str, workdir: Path) -> None:
    """`meltano-tap-hubspot`: a full sync of the deals stream (the list API, 100 a page, every
    property). The Singer SDK reads every stream's property definitions to decide which are
    selected, even with a catalog that selects only deals; the other object types' properties
    (`/crm/v3/properties/calls`, `/companies`, ...) are not the sandbox's, so the tap discovers
    the deals stream alone."""
    from tap_hubspot import streams
    from tap_hubspot.tap import TapHubspot

    TapHubspot.discover_streams = lambda self: [streams.DealStream(self)]
    config = workdir / "meltano.json"
    # No start_date: without a replication value the tap reads the list API, not search.
    config.write_text(json.dumps({"access_token": token}))
    sys.argv = ["tap-hubspot", "--config", str(config)]
    TapHubspot.cli()


def airbyte(token: str, workdir: Path) -> None:
    """`airbyte-source-hubspot`: a full-refresh read of the `deals` stream (its configured
    catalog names that stream alone; discovery would read other objects' properties)."""
    from source_hubspot.run import run

    config = workdir / "airbyte.json"
    config.write_text(
        json.dumps(
            {
                "credentials": {
                    "credentials_title": "Private App Credentials",
                    "access_token": token,
                },
                "start_date": "2000-01-01T00:00:00Z",
            }
        )
    )
    catalog = workdir / "airbyte-catalog.json"
    stream = {"name": "deals", "json_schema": {}, "supported_sync_modes": ["full_refresh"]}
    catalog.write_text(
        json.dumps(
            {
                "streams": [
                    {
                        "stream": stream,
                        "sync_mode": "full_refresh",
                        "destination_sync_mode": "overwrite",
                    }
                ]
            }
        )
    )
    sys.argv = ["source-hubspot", "read", "--config", str(config), "--catalog", str(catalog)]
    run()


if __name__ == "__main__":
    peer, base_url, token, workdir = sys.argv[1:5]
    send_to(base_url)
    {"meltano": meltano, "airbyte": airbyte}[peer](token, Path(workdir))
