"""Serving the static PWA in web/: right types, revalidated caching, the app shell fallback."""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from litestar import Request, Response, route
from litestar.enums import HttpMethod
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from server.deps import SettingsDep
from server.settings import Settings

# Litestar adds "; charset=utf-8" to every text/* type itself.
TYPES = {
    ".webmanifest": "application/manifest+json",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain",
}
# Only what the app itself serves: no inline script, no third party, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; style-src 'self'; font-src 'self'; manifest-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# Paths the app shell never answers for: the API, the OpenAPI document and the calendar feeds
# (web/sw.js keeps the same list).
_SERVER_PATHS = ("api", "schema", "calendar")


def _content_type(path: Path) -> str:
    return (
        TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )


def _cache_control(relative: str) -> str:
    # The service worker versions the app shell; the browser must always revalidate it.
    if relative.startswith("icons/"):
        return "public, max-age=86400"
    return "no-cache"


_SHELL_HASH = b"__SHELL_HASH__"
_shell_hashes: dict[tuple, str] = {}


def shell_hash(root: Path) -> str:
    """A digest of every file of the app but the service worker, as its cache version."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "sw.js")
    key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    if key not in _shell_hashes:
        digest = hashlib.blake2b(digest_size=8)
        for path in files:
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
        _shell_hashes.clear()
        _shell_hashes[key] = digest.hexdigest()
    return _shell_hashes[key]


def _resolve(root: Path, relative: str) -> Path | None:
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root.resolve()) or not candidate.is_file():
        return None
    return candidate


# HEAD too: monitors and `curl -I` ask for the headers only.
_GET_HEAD = [HttpMethod.GET, HttpMethod.HEAD]


@route("/", http_method=_GET_HEAD, include_in_schema=False, sync_to_thread=False)
def serve_root(request: Request, settings: SettingsDep) -> Response[bytes]:
    """The app shell."""
    return _serve(request, settings, "")


@route("/{path:path}", http_method=_GET_HEAD, include_in_schema=False, sync_to_thread=False)
def serve_web(request: Request, settings: SettingsDep, path: FromPath[str]) -> Response[bytes]:
    """A file of web/, or the app shell (index.html) for a client-side route."""
    return _serve(request, settings, path)


def _serve(request: Request, settings: Settings, path: str) -> Response[bytes]:
    relative = path.lstrip("/")
    if "\x00" in relative:
        raise NotFoundException("no file with a NUL character in its name")
    if relative.split("/", 1)[0] in _SERVER_PATHS:
        raise NotFoundException(f"no route {request.url.path}")
    root = settings.web_dir
    file = _resolve(root, relative) if relative else None
    if file is None:
        if Path(relative).suffix:  # a missing asset, not a page
            raise NotFoundException(f"no file {relative}")
        file, relative = _resolve(root, "index.html"), "index.html"
        if file is None:
            raise NotFoundException("web/index.html is missing")
    body = file.read_bytes()
    if relative == "sw.js":
        body = body.replace(_SHELL_HASH, shell_hash(root).encode())
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {"Cache-Control": _cache_control(relative), "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=304, headers=headers)
    if request.method == HttpMethod.HEAD:
        headers["Content-Length"] = str(len(body))
        return Response(b"", media_type=_content_type(file), headers=headers)
    return Response(body, media_type=_content_type(file), headers=headers)
