"""Every service a route uses, injected with `Depends`, and the request's tenant scope.

The app factory makes each service once and puts it on `app.state`; a route gets that service
seen through its request's `TenantScope` (`api_shim.tenancy`), made from the API key that
`api_shim.auth.authorize` accepted (FastAPI runs `authorize` once per request, however many
dependencies ask for it). No service reads the tenants from anywhere else.
"""

from typing import Annotated

from fastapi import Depends, Request

from api_shim.auth import Principal, authorize
from api_shim.services.contacts import ContactService
from api_shim.services.downloads import DownloadService
from api_shim.services.etl_scans import EtlScanService
from api_shim.services.hubspot_oauth import HubSpotOAuthService
from api_shim.services.results import ResultsService
from api_shim.services.scans import ScanService
from api_shim.services.system import SystemService
from api_shim.tenancy import TenantScope


def get_tenant_scope(principal: Annotated[Principal, Depends(authorize)]) -> TenantScope:
    """The tenants the request's API key may see (every tenant with open access)."""
    return TenantScope.of(principal.tenants)


TenantScopeDep = Annotated[TenantScope, Depends(get_tenant_scope)]


def get_scan_service(request: Request, scope: TenantScopeDep) -> ScanService:
    return request.app.state.scans.for_scope(scope)


def get_results_service(request: Request, scope: TenantScopeDep) -> ResultsService:
    return request.app.state.results.for_scope(scope)


def get_download_service(request: Request, scope: TenantScopeDep) -> DownloadService:
    return request.app.state.downloads.for_scope(scope)


def get_etl_service(request: Request, scope: TenantScopeDep) -> EtlScanService:
    return request.app.state.etl.for_scope(scope)


def get_oauth_service(request: Request, scope: TenantScopeDep) -> HubSpotOAuthService:
    return request.app.state.hubspot_oauth.for_scope(scope)


def get_contact_service(request: Request) -> ContactService:
    """HubSpot contacts; the tenant is checked by the OAuth service's `tenant` (the routes)."""
    return request.app.state.contacts


def get_system_service(request: Request) -> SystemService:
    """Health, pipeline info and process figures: no tenant's data."""
    return request.app.state.system


ScanServiceDep = Annotated[ScanService, Depends(get_scan_service)]
ResultsServiceDep = Annotated[ResultsService, Depends(get_results_service)]
DownloadServiceDep = Annotated[DownloadService, Depends(get_download_service)]
EtlServiceDep = Annotated[EtlScanService, Depends(get_etl_service)]
OAuthServiceDep = Annotated[HubSpotOAuthService, Depends(get_oauth_service)]
SystemServiceDep = Annotated[SystemService, Depends(get_system_service)]
ContactServiceDep = Annotated[ContactService, Depends(get_contact_service)]
PrincipalDep = Annotated[Principal, Depends(authorize)]
