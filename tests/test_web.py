"""Serving web/: types, caching, the security headers, the app shell fallback, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.settings import Settings

INDEX = b"<!doctype html><title>Grapevine shell</title><script type=module src=/app.js></script>"
SECRET = "do not serve me"


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    (tmp_path / "secret.txt").write_text(SECRET)
    (tmp_path / "pyproject.toml").write_text(SECRET)
    web = tmp_path / "web"
    (web / "icons").mkdir(parents=True)
    (web / "index.html").write_bytes(INDEX)
    (web / "sw.js").write_text("self.addEventListener('fetch', () => {});\n")
    (web / "manifest.webmanifest").write_text('{"name": "Grapevine", "start_url": "/"}')
    (web / "app.js").write_text("export const answer = 42;\n")
    (web / "icons" / "i.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return web


@pytest.fixture
async def web(sqlite_url: str, web_dir: Path) -> AsyncIterator[AsyncTestClient]:
    app = create_app(Settings(database_url=sqlite_url, web_dir=web_dir))
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_root_is_the_app_shell(web):
    response = await web.get("/")
    assert response.status_code == 200
    assert response.content == INDEX
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/sw.js", "text/javascript"),
        ("/app.js", "text/javascript"),
        ("/index.html", "text/html"),
        ("/icons/i.png", "image/png"),
    ],
)
async def test_files_have_their_types(web, path, media_type):
    response = await web.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type


@pytest.mark.parametrize("path", ["/sw.js", "/index.html", "/", "/people/123"])
async def test_the_shell_and_service_worker_are_always_revalidated(web, path):
    response = await web.get(path)
    assert response.status_code == 200
    assert "no-cache" in response.headers["cache-control"]
    assert "max-age=" not in response.headers["cache-control"].replace("max-age=0", "")


async def test_an_unchanged_file_answers_304_to_its_etag(web):
    first = await web.get("/app.js")
    etag = first.headers["etag"]
    assert etag
    again = await web.get("/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag


async def test_a_changed_file_answers_200_to_the_old_etag(web, web_dir):
    etag = (await web.get("/app.js")).headers["etag"]
    (web_dir / "app.js").write_text("export const answer = 43;\n")
    response = await web.get("/app.js", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert b"43" in response.content
    assert response.headers["etag"] != etag


@pytest.mark.parametrize("path", ["/", "/app.js", "/api/health"])
async def test_content_security_policy_allows_only_the_apps_own_scripts(web, path):
    response = await web.get(path)
    policy = response.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["worker-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/people/123", "/pair", "/organizations/abc/edit"])
async def test_client_routes_fall_back_to_the_app_shell(web, path):
    response = await web.get(path)
    assert response.status_code == 200
    assert response.content == INDEX
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/missing.js", "/icons/missing.png", "/people/photo.jpg"])
async def test_a_missing_asset_is_404_not_the_shell(web, path):
    response = await web.get(path)
    assert response.status_code == 404
    assert response.content != INDEX


@pytest.mark.parametrize("path", ["/api/unknown", "/api/stores/x/unknown", "/api"])
async def test_unknown_api_paths_are_404_json_not_the_shell(web, path):
    response = await web.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["status_code"] == 404


async def test_unknown_schema_paths_are_404_not_the_shell(web):
    response = await web.get("/schema/unknown")
    assert response.status_code == 404
    assert response.content != INDEX


@pytest.mark.parametrize("path", ["/calendar", "/calendar/", "/calendar/a/b.ics"])
async def test_calendar_paths_that_are_no_feed_are_404_not_the_shell(web, path):
    # (web/sw.js leaves /calendar/… to the network for the same reason)
    response = await web.get(path)
    assert response.status_code == 404
    assert response.content != INDEX


@pytest.mark.parametrize(
    "path",
    [
        "/%2e%2e/pyproject.toml",
        "/%2E%2E/secret.txt",
        "/..%2fsecret.txt",
        "/icons/%2e%2e/%2e%2e/secret.txt",
        "/%2e%2e/web/../secret.txt",
    ],
)
async def test_encoded_path_traversal_is_not_served(web, path):
    response = await web.get(path)
    assert response.status_code == 404
    assert SECRET not in response.text


@pytest.mark.parametrize(
    "path",
    ["/../pyproject.toml", "/../secret.txt", "/icons/../../secret.txt", "/../web/../secret.txt"],
)
async def test_path_traversal_in_the_raw_path_is_not_served(sqlite_url, web_dir, path):
    # httpx removes "/../" before sending: hand the app the path as a server could.
    app = create_app(Settings(database_url=sqlite_url, web_dir=web_dir))
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver.local")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver.local", 80),
        "state": {},
    }
    async with AsyncTestClient(app=app):  # runs the lifespan
        await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert start["status"] == 404
    assert SECRET.encode() not in body


async def test_openapi_lists_the_api(web):
    response = await web.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/login" in paths
    assert "/api/stores/{store_id}/pull" in paths
    assert "/api/stores" in paths
    assert not any(p in paths for p in ("/", "/{path}"))


def test_the_service_worker_version_follows_the_apps_files(tmp_path):
    from server.web import shell_hash

    (tmp_path / "index.html").write_text("<p>one</p>")
    (tmp_path / "sw.js").write_text('const VERSION = "grapevine-__SHELL_HASH__";')
    first = shell_hash(tmp_path)
    (tmp_path / "sw.js").write_text('const VERSION = "grapevine-__SHELL_HASH__"; // edited')
    assert shell_hash(tmp_path) == first  # the worker itself is not part of the shell
    (tmp_path / "index.html").write_text("<p>two</p>")
    assert shell_hash(tmp_path) != first  # any app file changed: a new cache version
