"""The API's documentation pages, Swagger UI and ReDoc, served with their assets from this process.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so on a machine without internet they
are blank. These are FastAPI's "self-hosting JavaScript and CSS for docs" pages, with the
assets' dist files from the `fastapi-offline` package (Swagger UI 5, ReDoc 2) mounted under
`/api/v1/docs/static`: neither page names any URL outside this server.
"""

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = files("fastapi_offline") / "static"

# Swagger UI's default validator sends the document to a public server and shows its badge.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def add_docs_pages(app: FastAPI, prefix: str) -> None:
    """`{prefix}/docs` (Swagger UI), `{prefix}/redoc` and the assets both load."""
    docs_url, redoc_url, static_url = f"{prefix}/docs", f"{prefix}/redoc", f"{prefix}/docs/static"
    oauth2_redirect_url = f"{docs_url}/oauth2-redirect"
    app.mount(static_url, StaticFiles(directory=str(ASSETS)), name="docs-static")

    def root(request: Request) -> str:
        return request.scope.get("root_path", "")

    @app.get(docs_url, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        base = root(request) + static_url
        return get_swagger_ui_html(
            openapi_url=root(request) + (app.openapi_url or ""),
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root(request) + oauth2_redirect_url,
            swagger_js_url=f"{base}/swagger-ui-bundle.js",
            swagger_css_url=f"{base}/swagger-ui.css",
            swagger_favicon_url=f"{base}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    @app.get(oauth2_redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(redoc_url, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        base = root(request) + static_url
        return get_redoc_html(
            openapi_url=root(request) + (app.openapi_url or ""),
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{base}/redoc.standalone.js",
            redoc_favicon_url=f"{base}/favicon.png",
            with_google_fonts=False,
        )
