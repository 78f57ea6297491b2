"""The code location's assets."""

from dagster import AssetKey

from hubspot_deals.scan import DEALS_ASSET_PATH

DEALS_KEY = AssetKey(list(DEALS_ASSET_PATH))
