"""/docs: Swagger UI from the swagger-ui-bundle-v2 wheel, so the page works offline and loads
nothing from a CDN (FastAPI's default page fetches its script and style from one)."""

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs/assets"


def install_docs(app: FastAPI) -> None:
    """Serves the page and its assets; the app must be created with docs_url=None."""
    openapi_url = app.openapi_url
    if openapi_url is None:
        raise ValueError("the docs page needs the app's OpenAPI schema; openapi_url is None")
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            # No badge that would send the API description to swagger.io for validation.
            swagger_ui_parameters={"validatorUrl": None},
        )
