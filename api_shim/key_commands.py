"""`hubspot-deals api keys create|list|revoke`: the API keys of the REST shim.

The key itself is printed once, by `create`, and never stored; a running shim sees every
change at its next request.
"""

import argparse
import json
import sys

from api_shim.api_keys import SCOPES, ApiKeyError, key_store
from api_shim.settings import get_api_settings
from hubspot_deals.settings import get_settings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="hubspot-deals api keys",
        description="Create, list and revoke the REST API's keys (stored hashed in "
        "HUBSPOT_DEALS_API_API_KEYS_FILE, default <HUBSPOT_DEALS_HOME>/api_keys.json).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a key and print it (shown this once only)")
    create.add_argument("--name", default="", help="what the key is for")
    create.add_argument(
        "--tenant",
        action="append",
        required=True,
        help="an organization id the key may see and act for (repeat for several)",
    )
    create.add_argument(
        "--scope",
        action="append",
        choices=SCOPES,
        help="a scope (repeat; default: every scope)",
    )
    create.add_argument("--json", action="store_true", help="print the new key as JSON")
    listing = sub.add_parser("list", help="list keys (ids, scopes, tenants; never the keys)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    revoke = sub.add_parser("revoke", help="revoke a key at once, also in a running shim")
    revoke.add_argument("key_id", help="the key's id (see list)")
    args = parser.parse_args(argv)

    store = key_store(get_api_settings().api_keys_file, get_settings().home)
    try:
        if args.command == "create":
            key, record = store.create(args.name, args.scope or list(SCOPES), args.tenant)
            if args.json:
                print(json.dumps({"key": key, **record.public()}))
            else:
                print(f"API key {record.key_id} created ({store.path}).")
                print("Keep it now: it is not stored and cannot be shown again.")
                print(key)
        elif args.command == "list":
            records = store.records()
            if args.json:
                print(json.dumps([r.public() for r in records]))
            elif not records:
                print(f"No API keys in {store.path}.")
            else:
                for r in records:
                    state = f"revoked {r.revoked_at}" if r.revoked_at else "active"
                    print(
                        f"{r.key_id}  {state:<28} scopes={','.join(r.scopes)} "
                        f"tenants={','.join(r.tenants)} created={r.created_at} name={r.name!r}"
                    )
        else:
            record = store.revoke(args.key_id)
            print(f"API key {record.key_id} revoked at {record.revoked_at}.")
    except ApiKeyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
