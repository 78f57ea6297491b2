"""Readable validation messages by field path and kind of failure (missing, type, invalid).

Paths are as clients send them (camelCase, without the `body`/`query` prefix). A field not
listed here gets pydantic's own message, which never includes the rejected value.
"""

SCAN_ID_RULE = "Scan ID must be 1-255 characters: letters, digits, hyphens and underscores only"

VALIDATION_MESSAGES: dict[tuple[str, ...], dict[str, str]] = {
    ("body",): {
        "missing": 'Request body is required: a JSON object with a "config" object',
        "type": "Request body must be a JSON object",
    },
    ("config",): {"missing": "Config is required", "type": "Config must be an object"},
    ("config", "scanId"): {
        "missing": "Scan ID is required",
        "type": "Scan ID must be a string",
        "invalid": SCAN_ID_RULE,
    },
    ("config", "organizationId"): {
        "missing": "Organization ID is required",
        "type": "Organization ID must be a string",
        "invalid": "Organization ID must be 1-255 characters",
    },
    ("config", "type"): {
        "missing": "Scan type is required",
        "type": 'Scan type must be a list: ["user"]',
        "invalid": 'Scan type must be ["user"]',
    },
    ("config", "auth"): {
        "missing": "Auth configuration is required",
        "type": "Auth must be an object",
    },
    ("config", "auth", "accessToken"): {
        "missing": "Access token is required",
        "type": "Access token must be a string",
        "invalid": "Access token must be 10-4096 characters",
    },
    ("config", "auth", "tennantUrl"): {
        "type": "Tenant URL must be a string",
        "invalid": "Tenant URL must be a valid http:// or https:// URL",
    },
    ("config", "filters"): {"type": "Filters must be an object"},
    ("config", "filters", "properties"): {
        "type": "Properties must be a list of strings",
        "invalid": "Properties must be a list of strings",
    },
    ("config", "filters", "includeArchived"): {
        "type": "Include archived must be a boolean (true or false)",
    },
    ("config", "filters", "dateRange"): {
        "type": "Date range must be an object",
        "invalid": "Start date must not be after end date",
    },
    ("config", "filters", "dateRange", "startDate"): {
        "type": "Start date must be a string in YYYY-MM-DD format",
        "invalid": "Start date must be a real calendar date in YYYY-MM-DD format",
    },
    ("config", "filters", "dateRange", "endDate"): {
        "type": "End date must be a string in YYYY-MM-DD format",
        "invalid": "End date must be a real calendar date in YYYY-MM-DD format",
    },
    ("organizationId",): {"invalid": "organizationId must be 1-255 characters"},
    ("tableName",): {"invalid": "tableName must be 1-255 characters"},
    ("format",): {"invalid": "format must be one of: json, csv, excel"},
}
