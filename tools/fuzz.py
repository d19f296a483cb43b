"""Fuzz the live server over its whole OpenAPI document with schemathesis, on each engine.

    python tools/fuzz.py [--engines sqlite,postgres] [--examples 100] [--quick]

For each engine: a fresh database, a user with a store and two device tokens, `grapevine
serve` on a free loopback port, then schemathesis against /schema/openapi.json. The store id
is filled in for `{store_id}` so pushes and pulls reach the sync engine (other path ids are
generated). `POST /api/logout` revokes the token it is sent with, so it runs last, alone,
with a token of its own. Exits non-zero on any server error or other failed check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
from bench import scratch  # noqa: E402

# What the answers must satisfy: no 5xx, only documented statuses, content types, headers
# and bodies as documented.
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def grapevine(*args: str) -> dict:
    out = subprocess.run(
        [str(BIN / "grapevine"), *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def serve(database: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPEVINE_")}
    proc = subprocess.Popen(
        [str(BIN / "grapevine"), "serve", "--port", str(port), "--database", database],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=1) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"the server did not start: see {log}")


def schemathesis(url: str, token: str, store_id: str, examples: int, work: Path, *only: str) -> int:
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as config:
        config.write(f'[parameters]\n"path.store_id" = "{store_id}"\n')
    command = [
        str(BIN / "schemathesis"),
        "--config-file",
        config.name,
        "run",
        f"{url}/schema/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(examples),
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--seed",
        "20261129",
        "--no-color",
        *only,
    ]
    try:
        return subprocess.run(command, check=False, cwd=work).returncode  # its cache stays there
    finally:
        os.unlink(config.name)


def fuzz_engine(engine: str, examples: int, work: Path) -> bool:
    postgres = engine == "postgres"
    database = asyncio.run(scratch.create("fuzz")) if postgres else str(work / "fuzz.db")
    try:
        email = f"fuzz-{uuid.uuid4().hex[:6]}@example.com"
        user = grapevine(
            "user",
            "add",
            "--email",
            email,
            "--password",
            "fuzzing password",
            "--database",
            database,
            "--json",
        )
        spare = grapevine(
            "device",
            "add",
            "--email",
            email,
            "--name",
            "logout",
            "--database",
            database,
            "--json",
        )
        log = work / f"server-{engine}.log"
        proc, url = serve(database, log)
        try:
            print(f"\n== {engine}: schemathesis against {url} ==", flush=True)
            main = schemathesis(
                url,
                user["token"],
                user["store_id"],
                examples,
                work,
                "--exclude-path",
                "/api/logout",
            )
            logout = schemathesis(
                url,
                spare["token"],
                user["store_id"],
                examples,
                work,
                "--include-path",
                "/api/logout",
            )
        finally:
            proc.terminate()
            proc.wait(10)
        server_errors = [
            line for line in log.read_text().splitlines() if " 500 " in line or "Traceback" in line
        ]
        print(f"{engine}: server log lines with 500/Traceback: {len(server_errors)}")
        for line in server_errors[:20]:
            print("   ", line)
        return main == 0 and logout == 0 and not server_errors
    finally:
        if engine == "postgres":
            asyncio.run(scratch.drop(database))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--examples", type=int, default=100, help="cases per operation")
    parser.add_argument("--quick", action="store_true", help="a short pass (10 per operation)")
    args = parser.parse_args()
    examples = 10 if args.quick else args.examples
    with tempfile.TemporaryDirectory(prefix="grapevine-fuzz-") as tmp:
        results = {e: fuzz_engine(e, examples, Path(tmp)) for e in args.engines.split(",")}
    for engine, ok in results.items():
        print(f"{engine}: {'0 server errors, every check passed' if ok else 'FAILED'}")
    sys.exit(0 if all(results.values()) else 1)


if __name__ == "__main__":
    main()
