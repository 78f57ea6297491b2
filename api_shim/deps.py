"""Services injected into routes with `Depends`; the app factory puts them on `app.state`."""

from typing import Annotated

from fastapi import Depends, Request

from api_shim.services.downloads import DownloadService
from api_shim.services.results import ResultsService
from api_shim.services.scans import ScanService
from api_shim.services.system import SystemService


def get_scan_service(request: Request) -> ScanService:
    return request.app.state.scans


def get_results_service(request: Request) -> ResultsService:
    return request.app.state.results


def get_system_service(request: Request) -> SystemService:
    return request.app.state.system


def get_download_service(request: Request) -> DownloadService:
    return request.app.state.downloads


ScanServiceDep = Annotated[ScanService, Depends(get_scan_service)]
ResultsServiceDep = Annotated[ResultsService, Depends(get_results_service)]
SystemServiceDep = Annotated[SystemService, Depends(get_system_service)]
DownloadServiceDep = Annotated[DownloadService, Depends(get_download_service)]
