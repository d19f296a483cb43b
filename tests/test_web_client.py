"""The static client's promises that need no browser: its schema, its precache list."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import sync
from tests.conftest import unavailable

WEB = Path(__file__).resolve().parent.parent / "web"


def test_the_service_worker_precaches_every_file_of_the_app():
    sw = (WEB / "sw.js").read_text()
    listed = set(re.findall(r'"(/[^"]*)"', sw.split("const SHELL = [", 1)[1].split("];", 1)[0]))
    files = {
        "/" + str(p.relative_to(WEB)) for p in WEB.rglob("*") if p.is_file() and p.name != "sw.js"
    }
    assert files - listed == set(), "files the installed app would miss offline"
    assert listed - files - {"/"} == set(), "precached paths that do not exist"


# A static import or re-export: `import … from "x"`, `import "x"`, `export … from "x"`.
IMPORT = re.compile(r"(?:^|\n)\s*(?:import|export)\s(?:[^;\"']*?\sfrom\s*)?[\"']([^\"']+)[\"']")


def imported_modules(entry: str) -> set[str]:
    """Every module `entry` imports, directly or not (itself included), as site paths."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        path = WEB / url.lstrip("/")
        for spec in IMPORT.findall(path.read_text()):
            assert spec.startswith("."), f"{url} imports {spec!r}: not a file of the app"
            todo.append("/" + (path.parent / spec).resolve().relative_to(WEB.resolve()).as_posix())
    return seen


def test_the_shell_asks_for_every_module_of_the_app_at_once():
    html = (WEB / "index.html").read_text()
    preloaded = re.findall(r'<link rel="modulepreload" href="([^"]+)">', html)
    assert len(preloaded) == len(set(preloaded)), "a module preloaded twice"
    modules = imported_modules("/js/app.js")
    assert len(modules) > 30  # the walk found the imports (a broken pattern finds app.js alone)
    assert modules - set(preloaded) == set(), "modules a cold start would wait for, level by level"
    assert set(preloaded) - modules == set(), "preloaded modules the app does not import"


def test_the_manifest_makes_the_app_installable():
    manifest = json.loads((WEB / "manifest.webmanifest").read_text())
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    sizes = {(i["sizes"], i.get("purpose", "any")) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        data = (WEB / icon["src"].lstrip("/")).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert f"{width}x{height}" == icon["sizes"]
    assert 'rel="apple-touch-icon"' in (WEB / "index.html").read_text()


def test_no_inline_script_or_style_that_the_csp_would_block():
    html = (WEB / "index.html").read_text()
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None
    assert "<style" not in html and " style=" not in html


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        unavailable("node is not installed")
    return path


def test_the_clients_schema_is_the_servers(node):
    script = "import('./web/js/schema.js').then(m => console.log(JSON.stringify(m.ENTITIES)))"
    out = subprocess.run(
        [node, "--input-type=module", "-e", script],
        cwd=WEB.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    client = json.loads(out)
    assert set(client) == set(sync.ENTITIES)
    for name, entity in sync.ENTITIES.items():
        assert set(client[name]) == set(entity.fields), name
        for field in entity.fields.values():
            spec = client[name][field.name]
            assert spec["type"] == field.type, (name, field.name)
            assert bool(spec.get("required")) == field.required, (name, field.name)
            if field.choices:
                assert tuple(spec["choices"]) == field.choices, (name, field.name)
            if field.ref:
                assert spec["ref"] == field.ref, (name, field.name)


async def test_the_served_worker_carries_the_shell_hash(client):
    body = (await client.get("/sw.js")).text
    assert "__SHELL_HASH__" not in body
    # the worker's own revision, then the hash of the app's files
    assert re.search(r'const VERSION = "grapevine-\d+-[0-9a-f]{16}";', body)
