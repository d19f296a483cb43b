"""The companion's HTTP exchanges, recorded once against a live `grapevine serve` (vcrpy) into
tests/cassettes/ and replayed here without a server: sign-in and pairing, a first pull in pages,
a push with a duplicate and a rejected mutation, an envelope error with `last_mutation_id` and a
`reset` after a server restore, a device signed out elsewhere.

The cassettes are the protocol's golden files: `test_the_server_still_answers_as_recorded`
records every scenario again against the current server and fails if an answer changed shape
(keys, types, statuses; not ids or times). After an intended protocol change, re-record them with
`make cassettes` and say so in docs/protocol.md.

Replay is deterministic: every client has a fixed clock and id source, requests are matched on
method, path and JSON body, and the address of the live server is recorded as
http://grapevine.test. Tokens, passwords and pairing codes never reach a cassette.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr
import yaml

import sync
from tests.browser import GRAPEVINE, _env, free_port

CASSETTES = Path(__file__).resolve().parent / "cassettes"
HOST = "http://grapevine.test"
PASSWORD = "correct horse battery staple"
NOT_RECORDED = "X-Not-Recorded"
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: every client's wall clock, frozen
SEED_ORG = "5b0e8f7c-2d4a-4c1e-9f3b-8a6d2e1c0b94"

# ----- recording and matching ------------------------------------------------------------


def _canonical(request: Any) -> Any:
    """What a cassette keeps of a request (and what replay matches on): no secrets, no port."""
    if request.headers.get(NOT_RECORDED) or request.path == "/api/health":
        return None  # set-up calls of a recording, never part of the client's exchange
    request = copy.deepcopy(request)
    request.uri = re.sub(r"^https?://[^/]+", HOST, request.uri)
    if request.body and request.path in ("/api/login", "/api/pair"):
        body = json.loads(request.body)
        for secret in ("password", "code"):
            if secret in body:
                body[secret] = f"<{secret}>"
        request.body = json.dumps(body).encode()
    return request


def _scrub(response: dict[str, Any]) -> dict[str, Any]:
    raw = response["body"]["string"]
    try:
        body = json.loads(raw)
    except ValueError:
        return response
    if isinstance(body, dict) and "token" in body:
        body["token"] = "<token>"
        data = json.dumps(body).encode()
        response["body"]["string"] = data
        response["headers"] = {
            k: ([str(len(data))] if k.lower() == "content-length" else v)
            for k, v in response["headers"].items()
        }
    return response


def _json_body(a: Any, b: Any) -> None:
    def decode(body: Any) -> Any:
        if not body:
            return None
        try:
            return json.loads(body)
        except ValueError:
            return body

    assert decode(a.body) == decode(b.body), "request bodies differ"


def recorder(directory: Path, mode: str) -> vcr.VCR:
    machine = vcr.VCR(
        cassette_library_dir=str(directory),
        record_mode=mode,
        match_on=["method", "uri", "json_body"],
        filter_headers=["authorization", "host", "user-agent", "content-length"],
        before_record_request=_canonical,
        before_record_response=_scrub,
        decode_compressed_response=True,
    )
    machine.register_matcher("json_body", _json_body)
    return machine


# ----- the world a scenario runs in ------------------------------------------------------


class Losing(httpx.BaseTransport):
    """A network that loses the answers of the next `lose` pushes after the server got them."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lose = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.lose and request.url.path.endswith("/push"):
            self.lose -= 1
            response.read()
            response.close()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


class Server:
    """`grapevine serve` on a fixed port, which can be stopped, backed up and restored."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.database = work / "grapevine.db"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log = (self.work / "server.log").open("a")
        self.process = subprocess.Popen(
            [str(GRAPEVINE), "serve", "--port", str(self.port), "--database", str(self.database)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=_env(),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.work / "server.log").read_text()
            try:
                self.call("GET", "/api/health")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise RuntimeError("grapevine serve did not start")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None
            self.log.close()

    def files(self) -> list[Path]:
        return [p for p in self.work.glob("grapevine.db*") if p.is_file()]

    def backup(self) -> None:
        self.stop()
        (self.work / "backup").mkdir(exist_ok=True)
        for p in self.files():
            shutil.copy2(p, self.work / "backup" / p.name)
        self.start()

    def restore(self) -> None:
        self.stop()
        for p in self.files():
            p.unlink()
        for p in (self.work / "backup").iterdir():
            shutil.copy2(p, self.work / p.name)
        self.start()

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """A set-up request: marked so that no cassette records it."""
        headers = {NOT_RECORDED: "1", "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
            return json.loads(text) if text else None

    def cli(self, *args: str) -> dict[str, Any]:
        out = subprocess.run(
            [str(GRAPEVINE), *args, "--database", str(self.database), "--json"],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=120,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])


@dataclass
class World:
    """What a scenario sees: the server's address, clients, and set-up actions that only run
    while recording (during replay the cassette already holds their effects)."""

    base: str
    tmp: Path
    email: str
    server: Server | None = None
    token: str | None = None  # the set-up's own device token
    clients: list[sync.SyncClient] = field(default_factory=list)

    @property
    def recording(self) -> bool:
        return self.server is not None

    def client(self, name: str) -> sync.SyncClient:
        counter = iter(range(1, 10**6))
        namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"grapevine-cassette-{name}")
        replica = sync.Replica(
            self.tmp / f"{name}.sqlite3",
            now=lambda: START_MS,
            new_id=lambda: str(uuid.uuid5(namespace, str(next(counter)))),
        )
        losing = Losing()
        client = sync.SyncClient(
            replica, transport=losing, sleep=lambda _: None, device_name=f"Companion {name}"
        )
        client.network = losing  # type: ignore[attr-defined]
        self.clients.append(client)
        return client

    def seed(self, mutations: list[dict[str, Any]]) -> None:
        """Push as another device, one mutation per push: the changes of one push come in no
        particular order, and a golden page must hold the same records each time."""
        if self.recording:
            store = self.server.cli("device", "add", "--email", self.email, "--name", "seed")
            for mutation in mutations:
                self.server.call(
                    "POST",
                    f"/api/stores/{store['store_id']}/push",
                    {"client_id": "seed", "mutations": [mutation]},
                    store["token"],
                )

    def pairing_code(self) -> str:
        if not self.recording:
            return "<code>"
        return self.server.call("POST", "/api/pairing", {}, self.token)["code"]

    def revoke(self, device_id: str) -> None:
        if self.recording:
            self.server.call("DELETE", f"/api/devices/{device_id}", None, self.token)

    def backup(self) -> None:
        if self.recording:
            self.server.backup()

    def restore(self) -> None:
        if self.recording:
            self.server.restore()


def person(record_id: str, base: int = 0, **fields: Any) -> tuple[str, dict[str, Any]]:
    return ("set", {"entity": "person", "id": record_id, "base": base, "fields": fields})


def _id(n: int) -> str:
    return f"0f8d6c3e-7a21-4b5f-8e9d-{n:012d}"


# ----- scenarios -------------------------------------------------------------------------


def signin(w: World) -> None:
    laptop = w.client("laptop")
    with pytest.raises(sync.SyncError, match="wrong email or password"):
        laptop.login(w.base, w.email, "not the password")
    session, carried = laptop.login(w.base, w.email, PASSWORD)
    assert (session.role, carried) == ("owner", 0)
    assert (session.token == "<token>") is not w.recording  # no token reaches a cassette
    desk = w.client("desk")
    with pytest.raises(sync.SyncError, match="pairing code is unknown, used or expired"):
        desk.pair(w.base, "NOPE-NOPE")
    session2, _ = desk.pair(w.base, w.pairing_code())
    assert session2.user_id == session.user_id and session2.store_id == session.store_id
    assert session2.device_id != session.device_id


def first_pull(w: World) -> None:
    hlc = f"{START_MS:013d}-0000-seed"
    w.seed(
        [
            {
                "id": 1,
                "hlc": hlc,
                "name": "set",
                "args": {
                    "entity": "organization",
                    "id": SEED_ORG,
                    "base": 0,
                    "fields": {"name": "Helios Labs", "status": "target"},
                },
            },
        ]
        + [
            {
                "id": n + 2,
                "hlc": hlc,
                "name": "set",
                "args": {
                    "entity": "person",
                    "id": _id(n),
                    "base": 0,
                    "fields": {
                        "name": f"Person {n}",
                        "organization_id": SEED_ORG,
                        "tags": ["kubecon"],
                    },
                },
            }
            for n in range(5)
        ]
    )
    laptop = w.client("laptop")
    laptop.login(w.base, w.email, PASSWORD)
    laptop.page_size = 2
    report = laptop.pull()
    assert (report.pages, report.changes, report.reset) == (3, 6, False)
    records = laptop.replica.records()
    assert sorted(r["fields"]["name"] for r in records.values() if r["entity"] == "person") == [
        f"Person {n}" for n in range(5)
    ]
    assert laptop.pull().changes == 0  # nothing new: one empty page


def push(w: World) -> None:
    laptop = w.client("laptop")
    laptop.login(w.base, w.email, PASSWORD)
    dana, sam = _id(1), _id(2)
    laptop.replica.enqueue([person(dana, name="Dana Ortiz")])
    laptop.retries = 0
    laptop.network.lose = 1  # the server applies it; the answer is lost on the way back
    with pytest.raises(sync.Unreachable):
        laptop.push()
    assert laptop.replica.waiting() == 1
    laptop.replica.enqueue([person(dana, stage="married"), person(sam, name="Sam Lee")])
    report = laptop.push()
    assert (report.sent, report.duplicate, report.applied) == (3, 1, 1)
    (mutation, error) = report.rejected[0]
    assert mutation["id"] == 2 and "person.stage must be one of" in error
    laptop.pull()
    assert laptop.replica.outbox() == []
    (refused,) = laptop.replica.refused()
    assert refused.mutation["args"]["fields"] == {"stage": "married"}
    shown = laptop.replica.records()
    assert shown[dana]["fields"]["name"] == "Dana Ortiz" and shown[dana]["fields"]["stage"] is None
    assert shown[sam]["version"] == 1


def restore(w: World) -> None:
    """The server is restored from a backup: a gap on push (409 with last_mutation_id), then
    `reset` on pull. Nothing pending is lost; the client renumbers and pulls anew."""
    laptop = w.client("laptop")
    laptop.login(w.base, w.email, PASSWORD)
    laptop.replica.enqueue([person(_id(1), name="Before the backup")])
    laptop.sync()
    w.backup()
    laptop.replica.enqueue(
        [person(_id(2), name="Lost in the restore"), person(_id(3), name="Lost as well")]
    )
    laptop.sync()
    w.restore()
    laptop.replica.enqueue([person(_id(4), name="After the restore")])
    report = laptop.sync()
    assert report.push.applied == 1 and report.pull.reset
    names = sorted(
        r["fields"]["name"] for r in laptop.replica.records().values() if r["entity"] == "person"
    )
    assert names == ["After the restore", "Before the backup"]
    assert laptop.replica.outbox() == [] and laptop.replica.next_id == 3


def signed_out(w: World) -> None:
    laptop = w.client("laptop")
    session, _ = laptop.login(w.base, w.email, PASSWORD)
    laptop.replica.enqueue([person(_id(7), name="Typed before the sign-out")])
    w.revoke(session.device_id)
    with pytest.raises(sync.SignedOut):
        laptop.sync()
    assert laptop.replica.session is None and laptop.replica.waiting() == 1
    _, carried = laptop.login(w.base, w.email, PASSWORD)
    assert carried == 1
    assert laptop.sync().push.applied == 1
    assert laptop.replica.records()[_id(7)]["version"] == 1


SCENARIOS: dict[str, Callable[[World], None]] = {
    "signin": signin,
    "first_pull": first_pull,
    "push": push,
    "signed_out": signed_out,
    "restore": restore,  # last: it restores the whole server
}


def email(scenario: str) -> str:
    return f"{scenario.replace('_', '-')}@companion.example"


def record(directory: Path, work: Path) -> None:
    """Run every scenario against one fresh live server, each as its own user, recording.
    `restore` restores the whole database, so it runs last."""
    work.mkdir(parents=True, exist_ok=True)
    server = Server(work)
    server.start()
    try:
        for name, scenario in SCENARIOS.items():
            made = server.cli("user", "add", "--email", email(name), "--password", PASSWORD)
            world = World(server.url, work / name, email(name), server, made["token"])
            world.tmp.mkdir()
            (directory / f"{name}.yaml").unlink(missing_ok=True)
            with recorder(directory, "all").use_cassette(f"{name}.yaml"):
                scenario(world)
            for c in world.clients:
                c.close()
                c.replica.close()
    finally:
        server.stop()


# ----- tests -----------------------------------------------------------------------------


@pytest.fixture
def closing() -> Iterator[list[World]]:
    worlds: list[World] = []
    yield worlds
    for w in worlds:
        for c in w.clients:
            c.close()
            c.replica.close()


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_replay(name: str, tmp_path: Path, closing: list[World]) -> None:
    """The client against the recorded server: no network, same requests, same outcome."""
    world = World(HOST, tmp_path, email(name))
    closing.append(world)
    with recorder(CASSETTES, "none").use_cassette(f"{name}.yaml") as cassette:
        SCENARIOS[name](world)
        assert cassette.all_played, f"{name}: the client skipped recorded requests"


def test_cassettes_hold_no_secrets() -> None:
    for path in sorted(CASSETTES.glob("*.yaml")):
        text = path.read_text()
        assert PASSWORD not in text
        assert not re.search(r"gv_[A-Za-z0-9_-]{20,}", text), path
        assert "authorization" not in text.lower(), path
        for interaction in yaml.safe_load(text)["interactions"]:
            body = interaction["request"]["body"]
            if interaction["request"]["uri"].endswith(("/api/login", "/api/pair")):
                assert json.loads(body).get("password", "<password>") == "<password>"
                assert json.loads(body).get("code", "<code>") == "<code>"


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EXACT = {"status", "entity", "role", "reset", "more", "deleted", "status_code"}


def shape(value: Any, key: str | None = None) -> Any:
    """A JSON value's shape: keys and types; the exact value only where it is protocol."""
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        shapes: list[Any] = []
        for item in value:
            if (s := shape(item, key)) not in shapes:
                shapes.append(s)
        return sorted(shapes, key=json.dumps)
    if key in EXACT or value is None:
        return value
    return type(value).__name__


def exchange(path: Path) -> list[dict[str, Any]]:
    def body(raw: Any) -> Any:
        if isinstance(raw, dict):
            raw = raw.get("string")
        if not raw:
            return None
        try:
            return shape(json.loads(raw))
        except ValueError:
            return "not json"

    out = []
    for i in yaml.safe_load(path.read_text())["interactions"]:
        request, response = i["request"], i["response"]
        out.append(
            {
                "request": f"{request['method']} {UUID.sub('{id}', request['uri'])}",
                "request body": body(request["body"]),
                "status": response["status"]["code"],
                "response body": body(response["body"]),
            }
        )
    return out


def test_the_server_still_answers_as_recorded(tmp_path: Path) -> None:
    """Record every scenario again against the current server: same exchanges, same shapes."""
    fresh = tmp_path / "cassettes"
    fresh.mkdir()
    record(fresh, tmp_path / "servers")
    for name in SCENARIOS:
        golden, now = exchange(CASSETTES / f"{name}.yaml"), exchange(fresh / f"{name}.yaml")
        assert len(now) == len(golden), f"{name}: {len(now)} exchanges, recorded {len(golden)}"
        for n, (was, is_) in enumerate(zip(golden, now, strict=True)):
            assert is_ == was, (
                f"{name}, exchange {n + 1} ({was['request']}) changed shape. If the protocol "
                "changed on purpose, re-record with `make cassettes` and document it in "
                "docs/protocol.md."
            )


def test_a_changed_answer_would_be_caught(tmp_path: Path) -> None:
    """The comparison is not vacuous: a renamed key or a new status code is a difference."""
    golden = CASSETTES / "push.yaml"
    text = golden.read_text()
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(text.replace('{"last_mutation_id":3', '{"last_id":3', 1))
    assert exchange(renamed) != exchange(golden)
    retyped = tmp_path / "retyped.yaml"
    retyped.write_text(text.replace('"status":"duplicate"', '"status":"skipped"', 1))
    assert exchange(retyped) != exchange(golden)
    assert exchange(golden) == exchange(golden)


if __name__ == "__main__":  # make cassettes
    import tempfile

    CASSETTES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        record(CASSETTES, Path(work))
    print(f"recorded {len(SCENARIOS)} cassettes into {CASSETTES}", file=sys.stderr)
