"""Routes of the review page, the dashboard and their static files."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from iccs.hierarchy import NONE_CODE, NONE_TITLE
from iccs.taxonomy import load_taxonomy
from service.api.errors import APIError

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css"}
templates = Jinja2Templates(directory=WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)

# Scripts and styles only from this service; no inline script, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
SHORTCUTS = [
    ("1 2 3", "accept that suggestion"),
    ("/", "search the taxonomy (↑ ↓ Enter recodes, Esc leaves)"),
    ("n", "not an offence"),
    ("s", "skip"),
    ("e", "escalate to an admin"),
    ("c", "write a comment"),
]


def _taxonomy_json() -> str:
    """Every code with its English and Spanish titles, for the code picker."""
    taxonomy = load_taxonomy()
    codes = {c.code: [c.title_en, c.title_es, c.level_name] for c in taxonomy}
    codes[NONE_CODE] = [NONE_TITLE, "No constituye delito", "none"]
    # Safe inside <script type="application/json">: no "</" can close the element.
    return json.dumps(codes, ensure_ascii=False).replace("</", "<\\/")


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request) -> HTMLResponse:
    taxonomy = load_taxonomy()
    return templates.TemplateResponse(
        request,
        "review.html",
        {
            "taxonomy_json": _taxonomy_json(),
            "taxonomy_version": taxonomy.version,
            "shortcuts": SHORTCUTS,
        },
        headers=SECURITY_HEADERS,
    )


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "dashboard.html", {}, headers=SECURITY_HEADERS)


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    path = (STATIC_DIR / name).resolve()
    if path.suffix not in STATIC_TYPES or path.parent != STATIC_DIR or not path.is_file():
        raise APIError(404, f"no static file {name}")
    return FileResponse(
        path,
        media_type=STATIC_TYPES[path.suffix],
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
