"""The API docs page works offline: every script, style and icon it names is served here."""

from __future__ import annotations

import re

from tests.conftest import Server


def test_the_docs_page_loads_only_assets_the_server_serves(server: Server) -> None:
    page = server.http.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.text
    assert "SwaggerUIBundle" in html
    assert "validatorUrl" in html  # the online validator badge is off
    assert not re.search(r"(https?:)?//[\w.-]+\.\w+", html), "an absolute URL in the page"
    assets = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)
    assert len(assets) == 3, assets  # the bundle, its style sheet, the icon
    for asset in assets:
        assert asset.startswith("/api/v1/docs/static/"), asset
        answer = server.http.get(asset)
        assert answer.status_code == 200, asset
        assert len(answer.content) > 500, asset
    spec = re.search(r"url: '([^']+)'", html)
    assert spec is not None
    assert server.http.get(spec.group(1)).json()["info"]["title"] == "Wharf"
