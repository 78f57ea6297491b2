"""hubspot-deals: HubSpot CRM deals into SQL with dlt, orchestrated by Dagster."""
