"""Lighthouse on the mobile profile against a live server, signed out and signed in.

    python tools/lighthouse.py [--only /path] [--json DIR] [--no-check]

Installs lighthouse@12.2.3 from npm into .lighthouse/ once and starts `grapevine serve --demo`
on a fresh SQLite file. Debian's Chromium (CHROME_PATH, default /usr/bin/chromium) runs
headless with a debugging port: Lighthouse audits the signed-out shell first, then
Playwright signs in through the app's own form in that same browser and Lighthouse audits
Today, a person, an organization and capture with that session (its storage is not reset).
Prints each page's category scores and the audits that lost points; exits 1 when a page
scores below performance 95, accessibility 100 or best practices 100 (--no-check: never).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
PREFIX = ROOT / ".lighthouse"
VERSION = "12.2.3"
PACKAGE = f"lighthouse@{VERSION}"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CHROME_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 100}


def ensure_lighthouse() -> Path:
    cli = PREFIX / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.exists():
        PREFIX.mkdir(exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(PREFIX), PACKAGE],
            check=True,
        )
    return cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: str) -> tuple[subprocess.Popen, str, str]:
    """`grapevine serve --demo` on a free port; returns it, its URL and the demo password."""
    port = free_port()
    log = Path(tmp) / "server.log"
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "grapevine"),
            "serve",
            "--demo",
            "--port",
            str(port),
            "--database",
            f"{tmp}/lh.db",
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urlopen(f"{url}/api/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    found = re.search(r"Sign in as (\S+) with password (\S+)", log.read_text())
    if not found:
        server.terminate()
        raise SystemExit(f"no demo account in the server's output:\n{log.read_text()}")
    return server, url, found.group(2)


def audit(cli: Path, url: str, port: int, signed_in: bool, out: Path) -> dict:
    flags = [
        "node",
        str(cli),
        url,
        f"--port={port}",
        "--output=json",
        f"--output-path={out}",
        "--quiet",
        "--only-categories=performance,accessibility,best-practices",
    ]
    if signed_in:
        flags.append("--disable-storage-reset")  # keep the session in IndexedDB
    subprocess.run(flags, check=True, env={**os.environ, "CHROME_PATH": CHROME})
    return json.loads(out.read_text())


def run(
    cli: Path, name: str, url: str, port: int, signed_in: bool, tmp: Path, keep: Path | None
) -> list[str]:
    out = tmp / f"{name.replace(' ', '-').strip('/') or 'root'}.json"
    data = audit(cli, url, port, signed_in, out)
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(out, keep / out.name)
    return report(name, data)


def report(name: str, data: dict) -> list[str]:
    """Print a page's scores; return what missed its target."""
    print(f"{name}  ({data['finalDisplayedUrl']})")
    missed = []
    for key, category in data["categories"].items():
        score = round(category["score"] * 100)
        target = TARGETS.get(key, 0)
        print(f"  {key:15} {score:3d}{'' if score >= target else f'  < {target}'}")
        if score < target:
            missed.append(f"{name} {key} {score} < {target}")
        for ref in category["auditRefs"]:
            audit_ = data["audits"][ref["id"]]
            if ref.get("weight") and audit_.get("score") is not None and audit_["score"] < 1:
                print(f"      - {audit_['id']}: {audit_['title']} ({audit_['score']})")
    metrics = data["audits"]
    print(
        "      LCP {} · TBT {} · CLS {}".format(
            metrics["largest-contentful-paint"].get("displayValue", "?"),
            metrics["total-blocking-time"].get("displayValue", "?"),
            metrics["cumulative-layout-shift"].get("displayValue", "?"),
        )
    )
    return missed


def sign_in(pw_browser_port: int, url: str, password: str) -> dict[str, str]:
    """Sign in through the app's form in the browser Lighthouse drives; the paths to audit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.connect_over_cdp(f"http://127.0.0.1:{pw_browser_port}")
        context = browser.contexts[0]
        page = context.new_page()
        page.goto(url + "/")
        page.get_by_label("Email").fill("demo@grapevine.example")
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("#nav:not([hidden])", timeout=30_000)
        for _ in range(300):
            if page.evaluate("document.getElementById('sync-status').textContent").startswith(
                "Synced"
            ):
                break
            page.wait_for_timeout(100)
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.goto(url + "/organizations")
        org = page.locator("main a[data-record]", has_text="Helios").first.get_attribute("href")
        page.goto(url + "/people")
        person = page.locator("main a[data-record]", has_text="Ruth").first.get_attribute("href")
        page.close()
        browser.close()  # the connection only: the browser keeps running for Lighthouse
    return {
        "today": "/",
        "person": person or "/people",
        "organization": org or "/organizations",
        "capture": "/capture",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="audit only this signed-in path")
    parser.add_argument("--json", type=Path, help="keep each page's full report in this folder")
    parser.add_argument("--no-check", action="store_true", help="print scores, never fail")
    args = parser.parse_args()
    if not Path(CHROME).exists() or shutil.which("node") is None:
        print(f"lighthouse needs node and Chromium at {CHROME}", file=sys.stderr)
        return 2
    cli = ensure_lighthouse()
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        server, url, password = start_server(tmp)
        port = free_port()
        chrome = subprocess.Popen(
            [
                CHROME,
                "--headless=new",
                f"--remote-debugging-port={port}",
                f"--user-data-dir={tmp}/profile",
                *CHROME_ARGS,
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                try:
                    urlopen(f"http://127.0.0.1:{port}/json/version", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            pages: list[tuple[str, str, bool]] = []
            if not args.only:
                # Signed out first: Lighthouse resets the origin's storage for this one.
                pages.append(("signed out", "/", False))
            for name, path, signed_in in pages:
                missed += run(cli, name, url + path, port, signed_in, Path(tmp), args.json)
            paths = sign_in(port, url, password)
            for name, path in [(args.only, args.only)] if args.only else paths.items():
                missed += run(cli, name, url + path, port, True, Path(tmp), args.json)
        finally:
            chrome.terminate()
            chrome.wait(10)
            server.terminate()
            server.wait(10)
    print(f"Lighthouse {VERSION}, mobile profile (simulated throttling)")
    if missed and not args.no_check:
        print("Below target: " + "; ".join(missed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
