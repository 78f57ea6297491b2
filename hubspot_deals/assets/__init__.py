"""The code location's assets."""

from dagster import AssetKey

DEALS_KEY = AssetKey(["hubspot", "deals"])
