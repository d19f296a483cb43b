"""Lighthouse on the mobile profile against a live server: prints the category scores.

    python tools/lighthouse.py [--path /] [--json out.json]

Installs lighthouse@12.2.3 from npm into .lighthouse/ once, starts `grapevine serve` on a
fresh SQLite file, and runs Debian's Chromium (CHROME_PATH=/usr/bin/chromium) headless.
"""

from __future__ import annotations

import argparse
import json
import os
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
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync --no-first-run"
)


def ensure_lighthouse() -> Path:
    cli = PREFIX / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.exists():
        PREFIX.mkdir(exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(PREFIX),
                f"lighthouse@{VERSION}",
            ],
            check=True,
        )
    return cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--path", default="/")
    parser.add_argument("--json", type=Path, help="also write the full report here")
    args = parser.parse_args()
    if not Path(CHROME).exists() or shutil.which("node") is None:
        print(f"lighthouse needs node and Chromium at {CHROME}", file=sys.stderr)
        return 2
    cli = ensure_lighthouse()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "grapevine"),
                "serve",
                "--port",
                str(port),
                "--database",
                f"{tmp}/lh.db",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                try:
                    urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            report = Path(tmp) / "report.json"
            subprocess.run(
                [
                    "node",
                    str(cli),
                    f"http://127.0.0.1:{port}{args.path}",
                    "--output=json",
                    f"--output-path={report}",
                    "--quiet",
                    f"--chrome-flags={FLAGS}",
                    "--only-categories=performance,accessibility,best-practices",
                ],
                check=True,
                env={**os.environ, "CHROME_PATH": CHROME},
            )
            data = json.loads(report.read_text())
            if args.json:
                args.json.write_text(report.read_text())
        finally:
            server.terminate()
            server.wait(10)
    print(
        f"Lighthouse {data['lighthouseVersion']} ({data['configSettings']['formFactor']}) "
        f"on {args.path}"
    )
    for key, category in data["categories"].items():
        print(f"  {key:15} {round(category['score'] * 100):3d}")
        for ref in category["auditRefs"]:
            audit = data["audits"][ref["id"]]
            if ref.get("weight") and audit.get("score") is not None and audit["score"] < 1:
                print(f"      - {audit['id']}: {audit['title']} ({audit['score']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
