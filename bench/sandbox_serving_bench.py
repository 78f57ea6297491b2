"""How fast the sandbox serves list pages, measured from a separate client process.

    python bench/sandbox_serving_bench.py [--deals 100000] [--threads 2]

Starts a sandbox subprocess, then pages through every live deal with `limit=100` using a few
threads of `requests.Session` (each thread walks its own id range, following `paging.next.after`)
and decodes every page with orjson: once with HubSpot's 8 default properties, once with all.
"""

from __future__ import annotations

import argparse
import threading
import time

import orjson
import requests

from hubspot_sandbox.account import DEFAULT_PROPERTIES
from hubspot_sandbox.process import SandboxServer


def _walk(
    base_url: str,
    token: str,
    properties: str,
    first_id: int,
    stop_id: int | None,
    totals: list[int],
) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    params = {"limit": "100", "properties": properties, "after": str(first_id)}
    deals = pages = size = 0
    while True:
        resp = session.get(f"{base_url}/crm/v3/objects/deals", params=params)
        resp.raise_for_status()
        body = orjson.loads(resp.content)
        pages += 1
        size += len(resp.content)
        results = body["results"]
        if stop_id is not None:
            results = [d for d in results if int(d["id"]) < stop_id]
        deals += len(results)
        nxt = body.get("paging", {}).get("next", {}).get("after")
        if not nxt or (stop_id is not None and len(results) < len(body["results"])):
            break
        params["after"] = nxt
    totals[0] += deals
    totals[1] += pages
    totals[2] += size


def measure(server: SandboxServer, properties: list[str], threads: int) -> dict[str, float]:
    account = server.account()
    bounds = [account.deal_id_int(account.total_deals * k // threads) for k in range(threads)]
    totals = [0, 0, 0]
    workers = [
        threading.Thread(
            target=_walk,
            args=(
                server.base_url,
                server.token,
                ",".join(properties),
                bounds[k],
                bounds[k + 1] if k + 1 < threads else None,
                totals,
            ),
        )
        for k in range(threads)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    if totals[0] != account.live_count:
        raise AssertionError(f"served {totals[0]} deals, expected {account.live_count}")
    return {
        "deals": totals[0],
        "pages": totals[1],
        "seconds": seconds,
        "deals_per_s": totals[0] / seconds,
        "mb_per_s": totals[2] / seconds / 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--custom-properties", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    with SandboxServer(deals=args.deals, custom_properties=args.custom_properties) as server:
        everything = list(server.account().property_names())
        for label, properties in (
            (f"{len(DEFAULT_PROPERTIES)} properties", list(DEFAULT_PROPERTIES)),
            (f"all {len(everything)} properties", everything),
        ):
            r = measure(server, properties, args.threads)
            print(
                f"{label:>18}: {r['deals_per_s']:>9,.0f} deals/s  ({r['deals']:,} deals, "
                f"{r['pages']:,} pages in {r['seconds']:.2f} s, {r['mb_per_s']:.1f} MB/s, "
                f"{args.threads} client threads)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
