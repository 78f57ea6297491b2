"""Routes grouped by resource, mounted under /api/v1."""

from fastapi import APIRouter

from api_shim.routes import downloads, health, maintenance, pipeline, results, scans

api_router = APIRouter()
api_router.include_router(scans.router)
api_router.include_router(results.router)
api_router.include_router(downloads.router)
api_router.include_router(pipeline.router)
api_router.include_router(maintenance.router)
api_router.include_router(health.router)
