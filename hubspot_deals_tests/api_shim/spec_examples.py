"""The spec's "Complete Workflow Example", verbatim (docs/spec/deals-extraction-api.md, Examples >
Python Examples > Complete Workflow Example). The tests swap in the shim's URL and a token."""

SPEC_BASE_URL = "http://localhost:5000/api/v1"
SPEC_TOKEN = "pat-na1-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"

COMPLETE_WORKFLOW_EXAMPLE = '''import requests
import time

BASE_URL = "http://localhost:5000/api/v1"

def start_scan(scan_id, access_token, start_date, end_date):
    """Start a new deal extraction scan"""
    payload = {
        "config": {
            "scanId": scan_id,
            "organizationId": "org-12345",
            "type": ["user"],
            "auth": {"accessToken": access_token},
            "filters": {
                "properties": ["dealname", "amount", "dealstage"],
                "dateRange": {
                    "startDate": start_date,
                    "endDate": end_date
                }
            }
        }
    }
    
    response = requests.post(f"{BASE_URL}/scan/start", json=payload)
    return response.json() if response.status_code == 202 else None

def wait_for_completion(scan_id, max_wait_minutes=60):
    """Wait for scan to complete"""
    start_time = time.time()
    max_wait_seconds = max_wait_minutes * 60
    
    while time.time() - start_time < max_wait_seconds:
        response = requests.get(f"{BASE_URL}/scan/{scan_id}/status")
        if response.status_code == 200:
            data = response.json()
            status = data['data']['status']
            
            if status == 'completed':
                return True, data['data']
            elif status in ['failed', 'cancelled', 'crashed']:
                return False, data['data']
        
        time.sleep(10)
    
    return False, {"error": "Timeout waiting for scan to complete"}

def get_results(scan_id, table_name="deals", limit=100):
    """Get all results from a completed scan"""
    offset = 0
    all_records = []
    
    while True:
        params = {"tableName": table_name, "limit": limit, "offset": offset}
        response = requests.get(f"{BASE_URL}/results/{scan_id}/result", params=params)
        
        if response.status_code != 200:
            break
        
        data = response.json()
        records = data['data']['records']
        all_records.extend(records)
        
        if not data['data']['pagination'].get('hasMore', False):
            break
        
        offset += limit
    
    return all_records

# Usage
scan_id = "hubspot-deals-scan-2025-001"
access_token = "pat-na1-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"

# Start scan
print("Starting scan...")
result = start_scan(scan_id, access_token, "2024-01-01", "2024-12-31")
if result:
    print(f"Scan started: {scan_id}")

# Wait for completion
print("Waiting for scan to complete...")
success, status_data = wait_for_completion(scan_id)
if success:
    print(f"Scan completed! Extracted {status_data.get('recordsExtracted', 0)} records")
    
    # Get results
    print("Retrieving results...")
    deals = get_results(scan_id)
    print(f"Retrieved {len(deals)} deals")
else:
    print(f"Scan failed or was cancelled: {status_data}")

'''
