"""HubSpot CRM v3: the client, read strategies, typed columns and the dlt source."""
