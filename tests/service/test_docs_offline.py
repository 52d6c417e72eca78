"""/docs and /redoc work without internet: every script, style sheet and icon is served here."""

from __future__ import annotations

import re

import pytest

from tests.service.conftest import Service

ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")
LOCAL_REFERENCE = re.compile(r"""(?:src|href)=["']?(/[^"'\s>]+)""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_name_no_external_host_and_serve_their_assets(svc: Service, page: str) -> None:
    response = svc.client.get(page)
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    html = response.text
    assert ABSOLUTE_URL.findall(html) == []  # no CDN, no font service, no validator
    assets = LOCAL_REFERENCE.findall(html)
    assert any(a.endswith(".js") for a in assets), html
    for asset in assets:
        fetched = svc.client.get(asset)
        assert fetched.status_code == 200, asset
        assert len(fetched.content) > 100
    assert "/openapi.json" in html
    assert svc.client.get("/openapi.json").status_code == 200


def test_swagger_ui_does_not_call_the_online_validator(svc: Service) -> None:
    html = svc.client.get("/docs").text
    assert '"validatorUrl": null' in html
