"""The Python examples of docs/spec/deals-etl-api.md (Examples > Python Examples), verbatim, in
the document's order. The tests swap in the shim's URL, an API key, a scan id and a token;
test_spec_examples.py checks that they still equal the document's blocks."""

SPEC_FILE = "deals-etl-api.md"
SPEC_BASE_URL = "http://localhost:5200"
SPEC_API_KEY = "your-api-key"
SPEC_SCAN_ID = "scan_20250127_103000_abc123"
SPEC_TENANT = "acme_corp_prod"
SPEC_TOKEN = "pat-na1-xxxxxxxx"

PYTHON_EXAMPLES: dict[str, str] = {}

PYTHON_EXAMPLES["Start Extraction"] = """import requests

url = "http://localhost:5200/api/v1/scans/start"
headers = {
    "Authorization": "Bearer your-api-key",
    "Content-Type": "application/json"
}
payload = {
    "tenant_id": "acme_corp_prod",
    "scan_type": "full",
    "config": {
        "hubspot_access_token": "pat-na1-xxxxxxxx",
        "properties": ["dealname", "amount", "dealstage"],
        "batch_size": 100
    }
}

response = requests.post(url, json=payload, headers=headers)
print(response.json())
scan_id = response.json()["scan_id"]
"""

PYTHON_EXAMPLES["Monitor Progress"] = """import requests
import time

def monitor_scan(scan_id, api_key):
    url = f"http://localhost:5200/api/v1/scans/{scan_id}"
    headers = {"Authorization": f"Bearer {api_key}"}
    
    while True:
        response = requests.get(url, headers=headers)
        data = response.json()
        
        status = data["status"]
        progress = data.get("progress", {})
        
        print(f"Status: {status} - Progress: {progress.get('percentage', 0)}%")
        
        if status in ["completed", "failed", "cancelled"]:
            break
        
        time.sleep(5)
    
    return data

result = monitor_scan("scan_20250127_103000_abc123", "your-api-key")
"""

PYTHON_EXAMPLES["Get Paginated Results"] = """import requests

def get_all_deals(scan_id, api_key):
    base_url = f"http://localhost:5200/api/v1/scans/{scan_id}/results"
    headers = {"Authorization": f"Bearer {api_key}"}
    
    all_deals = []
    page = 1
    
    while True:
        response = requests.get(
            base_url,
            params={"page": page, "limit": 100},
            headers=headers
        )
        
        if response.status_code != 200:
            print(f"Error: {response.status_code}")
            break
        
        data = response.json()
        all_deals.extend(data["results"])
        
        if not data["pagination"]["has_next"]:
            break
        
        page += 1
    
    return all_deals

deals = get_all_deals("scan_20250127_103000_abc123", "your-api-key")
print(f"Total deals: {len(deals)}")
"""

PYTHON_EXAMPLES["Filter and Sort Results"] = """import requests

url = "http://localhost:5200/api/v1/scans/scan_20250127_103000_abc123/results"
headers = {"Authorization": "Bearer your-api-key"}
params = {
    "filter_stage": "closedwon",
    "sort_by": "amount",
    "sort_order": "desc",
    "limit": 50
}

response = requests.get(url, params=params, headers=headers)
deals = response.json()["results"]

for deal in deals:
    print(f"{deal['dealname']}: ${deal['amount']}")
"""

PYTHON_EXAMPLES["Error Handling"] = """import requests
from requests.exceptions import RequestException

def start_scan_with_error_handling(tenant_id, token, api_key):
    url = "http://localhost:5200/api/v1/scans/start"
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Content-Type": "application/json"
    }
    payload = {
        "tenant_id": tenant_id,
        "scan_type": "full",
        "config": {
            "hubspot_access_token": token,
            "batch_size": 100
        }
    }
    
    try:
        response = requests.post(url, json=payload, headers=headers, timeout=30)
        response.raise_for_status()
        return response.json()
    
    except requests.exceptions.HTTPError as e:
        if e.response.status_code == 400:
            print(f"Validation error: {e.response.json()}")
        elif e.response.status_code == 401:
            print("Authentication failed - check API key")
        elif e.response.status_code == 409:
            print("Scan already in progress")
        else:
            print(f"HTTP error: {e}")
    
    except RequestException as e:
        print(f"Request failed: {e}")
    
    return None

result = start_scan_with_error_handling("acme_corp_prod", "pat-na1-xxxxx", "your-api-key")
"""
