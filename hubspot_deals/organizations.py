"""Organizations scanned on a schedule, from a YAML file (`HUBSPOT_DEALS_ORGANIZATIONS_FILE`).

organizations:
  - id: org-12345                      # letters, digits, hyphen, underscore
    token_env: HUBSPOT_TOKEN_ORG_12345 # the env var holding its HubSpot token
    cron: "0 3 * * *"                  # optional; daily at 03:00 UTC by default
    properties: [dealname, amount]     # optional; all properties by default
    change_sensor: true                # optional; scan when HubSpot shows changes
"""

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from hubspot_deals.settings import get_settings

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


class ScheduledOrganization(BaseModel):
    id: str
    token_env: str = Field(description="Environment variable that holds the HubSpot token")
    cron: str = "0 3 * * *"
    properties: list[str] | None = None
    change_sensor: bool = True

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError("letters, digits, hyphens and underscores only (1-200)")
        return value


class OrganizationsFile(BaseModel):
    organizations: list[ScheduledOrganization] = []


class OrganizationsFileError(Exception):
    """The organizations file exists but is not valid."""


def load_organizations(path: Path | None = None) -> list[ScheduledOrganization]:
    """The configured organizations; none when the file does not exist."""
    path = path or get_settings().organizations_file
    if not path.exists():
        return []
    try:
        doc = yaml.safe_load(path.read_text()) or {}
        orgs = OrganizationsFile.model_validate(doc).organizations
    except (yaml.YAMLError, ValidationError) as exc:
        raise OrganizationsFileError(f"{path}: {exc}") from exc
    ids = [o.id for o in orgs]
    if len(ids) != len(set(ids)):
        raise OrganizationsFileError(f"{path}: an organization id appears twice")
    return orgs
