"""The desktop companion against a real `grapevine serve` (no cassettes), on SQLite and
PostgreSQL: clients offline, conflicting edits, convergence to what the server holds and what
any other client (the web app included) pulls."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import sync
from tests.browser import GRAPEVINE, LiveServer, User, _env, cli


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("remote")
    if request.param == "postgres":
        database: str | Path = request.getfixturevalue("postgres_url")
    else:
        database = work / "grapevine.db"
    server = LiveServer(database, work / "server.log")  # type: ignore[arg-type]
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


class Offline(httpx.BaseTransport):
    """No network at all: every request fails to connect."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("network is unreachable", request=request)


def companion(path: Path, offline: bool = False) -> sync.SyncClient:
    return sync.SyncClient(
        sync.Replica(path),
        transport=Offline() if offline else None,
        retries=1,
        sleep=lambda _: None,
    )


def add_user(live: LiveServer) -> User:
    """A user with a password and a device token, in one command (the machine is busy)."""
    email = f"companion-{uuid.uuid4().hex[:10]}@example.com"
    password = f"pw-{uuid.uuid4().hex[:12]}"
    made = cli("user", "add", "--email", email, "--password", password, database=live.database)
    return User(email, password, made["store_id"], made["token"])


@pytest.fixture
def pair(
    live: LiveServer, tmp_path: Path
) -> Iterator[tuple[User, sync.SyncClient, sync.SyncClient]]:
    user = add_user(live)
    laptop, desktop = companion(tmp_path / "laptop.sqlite3"), companion(tmp_path / "desk.sqlite3")
    laptop.login(live.url, user.email, user.password)
    desktop.login(live.url, user.email, user.password)
    yield user, laptop, desktop
    laptop.close()
    desktop.close()


def person_set(client: sync.SyncClient, record_id: str, **fields) -> None:
    base = client.replica.base(record_id)
    client.replica.enqueue(
        [("set", {"entity": "person", "id": record_id, "base": base, "fields": fields})]
    )


def go_offline(client: sync.SyncClient) -> sync.SyncClient:
    """The same replica, with no network."""
    return companion(client.replica.path, offline=True)


def shown(client: sync.SyncClient) -> dict:
    return {
        i: (r["entity"], r["deleted"], r["fields"]) for i, r in client.replica.records().items()
    }


def test_two_offline_clients_converge_with_the_server(live, pair):
    user, laptop, desktop = pair
    dana, sam = "0f8d6c3e-7a21-4b5f-8e9d-1c2b3a4d5e6f", "3c9a1f4e-5b7d-4e2a-a8c6-9d0e1f2a3b4c"
    notes = "culture: open\nprospects: growing\nprojects: wind tunnel\nfit: good\n"
    person_set(laptop, dana, name="Dana Ortiz", title="Engineering Manager", notes=notes)
    person_set(laptop, sam, name="Sam Lee")
    laptop.sync()
    desktop.sync()
    assert shown(desktop) == shown(laptop)

    # Both go offline and edit the same people.
    lap, desk = go_offline(laptop), go_offline(desktop)
    person_set(
        lap, dana, title="Director of Engineering", notes=notes.replace("open", "open, flat")
    )
    lap.replica.enqueue(
        [("add", {"entity": "person", "id": dana, "field": "tags", "value": "kubecon"})]
    )
    lap.replica.enqueue(
        [("delete", {"entity": "person", "id": sam, "base": lap.replica.base(sam)})]
    )
    person_set(
        desk, dana, title="Senior Engineering Manager", notes=notes.replace("good", "very good")
    )
    person_set(desk, sam, title="Staff Engineer")
    with pytest.raises(sync.Unreachable):
        lap.sync()
    with pytest.raises(sync.Unreachable):
        desk.sync()
    # Offline, each shows its own edits on top of the last server copy; nothing was lost.
    assert lap.replica.records()[dana]["fields"]["title"] == "Director of Engineering"
    assert lap.replica.records()[sam]["deleted"] is True
    assert desk.replica.records()[dana]["fields"]["title"] == "Senior Engineering Manager"
    assert lap.replica.waiting() == 3 and desk.replica.waiting() == 2

    # Back online, the desktop first. The desktop's title was typed later: its stamp wins.
    desktop.sync()
    laptop.sync()
    desktop.sync()
    assert laptop.replica.waiting() == 0 and desktop.replica.waiting() == 0
    assert shown(laptop) == shown(desktop)
    server = live.records(user)
    assert {i: (r["entity"], r["deleted"], r["fields"]) for i, r in server.items()} == shown(laptop)
    assert laptop.replica.server_records() == {
        i: {
            "entity": r["entity"],
            "id": i,
            "version": r["version"],
            "deleted": r["deleted"],
            "fields": r["fields"],
        }
        for i, r in server.items()
    }

    d = server[dana]["fields"]
    assert d["title"] == "Senior Engineering Manager"  # the later stamp
    assert d["notes"] == notes.replace("open", "open, flat").replace("good", "very good")
    assert d["tags"] == ["kubecon"]
    assert server[sam]["deleted"] is False  # an edit concurrent with a delete keeps it
    assert server[sam]["fields"]["title"] == "Staff Engineer"
    conflicts = sorted(
        (c["fields"]["field"] or "", c["fields"]["lost"])
        for c in server.values()
        if c["entity"] == "conflict"
    )
    assert conflicts == [("", "deleted"), ("title", "Director of Engineering")]

    # Resolving from one device reaches the other.
    title = next(i for i, c in server.items() if c["entity"] == "conflict" and c["fields"]["field"])
    desktop.replica.enqueue([("resolve", {"conflict": title, "choose": "lost"})])
    assert desktop.replica.records()[dana]["fields"]["title"] == "Director of Engineering"
    desktop.sync()
    laptop.sync()
    assert laptop.replica.records()[dana]["fields"]["title"] == "Director of Engineering"
    assert shown(laptop) == shown(desktop)


def test_a_rejected_edit_is_kept_and_the_queue_goes_on(live, pair):
    _, laptop, _ = pair
    pid = "8e2d4c6a-1b3f-4a5e-b7d9-0c1e2f3a4b5d"
    person_set(laptop, pid, name="Ruth Castellano")
    person_set(laptop, pid, stage="married")
    person_set(laptop, pid, title="VP Research")
    report = laptop.push()
    assert (report.applied, len(report.rejected)) == (2, 1)
    (refused,) = laptop.replica.refused()
    assert refused.mutation["args"]["fields"] == {"stage": "married"}
    assert "person.stage must be one of" in refused.error
    laptop.pull()
    assert laptop.replica.records()[pid]["fields"]["title"] == "VP Research"


def test_signed_out_elsewhere_keeps_unsynced_edits(live, pair):
    user, laptop, _ = pair
    pid = "5b0e8f7c-2d4a-4c1e-9f3b-8a6d2e1c0b94"
    person_set(laptop, pid, name="Katherine Johnson")
    session = laptop.replica.session
    httpx.delete(
        f"{live.url}/api/devices/{session.device_id}",
        headers={"Authorization": f"Bearer {user.token}"},
    ).raise_for_status()
    with pytest.raises(sync.SignedOut, match="unsynced edits are kept"):
        laptop.sync()
    assert laptop.replica.session is None
    assert laptop.replica.waiting() == 1
    assert laptop.replica.records()[pid]["fields"]["name"] == "Katherine Johnson"
    # The replica survives a restart: a new process picks it up and signs in again.
    laptop.close()
    again = companion(laptop.replica.path)
    _, carried = again.login(live.url, user.email, user.password)
    assert carried == 1
    again.sync()
    assert live.records(user)[pid]["fields"]["name"] == "Katherine Johnson"
    again.close()


def test_pull_pages_and_reset(live, pair):
    _, laptop, desktop = pair
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(7)]
    for n, pid in enumerate(ids):
        person_set(laptop, pid, name=f"Person {n}")
    laptop.push()
    desktop.page_size = 3
    report = desktop.pull()
    assert report.pages == 3 and report.changes == 7
    # A cursor the server did not make: the copy is dropped and pulled anew, the outbox kept.
    person_set(desktop, ids[0], title="kept through the reset")
    desktop.replica.put("cursor", "not-a-cursor")
    report = desktop.pull()
    assert report.reset and report.changes == 7
    assert desktop.replica.waiting() == 1
    assert desktop.replica.records()[ids[0]]["fields"]["title"] == "kept through the reset"


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**_env(), "XDG_DATA_HOME": str(home)}
    return subprocess.run(
        [str(GRAPEVINE), "remote", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_the_command_line_loop(live, tmp_path):
    """The README's walk: sign in, log offline, push, vault, edit a note by hand, pull again."""
    user = add_user(live)
    home, notes = tmp_path / "data", tmp_path / "Notes"
    out = run(home, "login", live.url, "--email", user.email, "--password", user.password)
    assert out.returncode == 0, out.stderr
    assert (home / "grapevine" / "companion.sqlite3").is_file()

    logged = run(home, "log", "Met Dana at the APS lunch", "--person", "Dana Ortiz", "--json")
    assert logged.returncode == 0, logged.stderr
    capture = json.loads(logged.stdout)
    assert capture["new_person"] and capture["waiting"] == 2
    status = json.loads(run(home, "status", "--json").stdout)
    assert status["pending"] == 2 and status["last_sync_ms"] is None

    pushed = run(home, "push")
    assert pushed.returncode == 0 and "2 applied" in pushed.stdout, pushed.stdout + pushed.stderr
    vault = run(home, "vault", str(notes))
    assert vault.returncode == 0, vault.stderr
    dana = notes / "People" / "Dana Ortiz.md"
    assert "Met Dana at the APS lunch" in dana.read_text()

    # By hand in the notes app, then another device changes Dana: the user's file stays.
    dana.write_text(dana.read_text() + "\nMy own thoughts.\n")
    live.api(
        f"/api/stores/{user.store_id}/push",
        {
            "client_id": "other-device",
            "mutations": [
                {
                    "id": 1,
                    "hlc": f"{sync.wall_ms():013d}-0000-other-device",
                    "name": "set",
                    "args": {
                        "entity": "person",
                        "id": capture["person_id"],
                        "base": 1,
                        "fields": {"title": "CTO"},
                    },
                }
            ],
        },
        user.token,
    )
    pulled = run(home, "pull")
    assert pulled.returncode == 0, pulled.stderr
    assert "People/Dana Ortiz.md was changed by you" in pulled.stdout
    assert dana.read_text().endswith("My own thoughts.\n")
    beside = notes / "People" / "Dana Ortiz.grapevine.md"
    assert "CTO" in beside.read_text()
    assert json.loads(run(home, "status", "--json").stdout)["last_sync_ms"] is not None


def test_log_works_offline_and_push_sends_later(live, tmp_path):
    user = add_user(live)
    home = tmp_path / "data"
    assert (
        run(home, "login", live.url, "--email", user.email, "--password", user.password).returncode
        == 0
    )
    down = str(home / "grapevine" / "companion.sqlite3")
    # Point the session at a port nobody listens on: the network is gone.
    replica = sync.Replica(down)
    real = replica.session
    replica.put("session", {**real.__dict__, "server": "http://127.0.0.1:9"})
    replica.close()
    logged = run(home, "log", "Coffee with Mary", "--person", "Mary Jackson", "--kind", "coffee")
    assert logged.returncode == 0, logged.stderr
    offline = run(home, "push")
    assert offline.returncode == 1 and "offline" in offline.stderr and "kept" in offline.stderr
    replica = sync.Replica(down)
    replica.put("session", real.__dict__)
    replica.close()
    assert run(home, "push").returncode == 0
    names = {r["fields"]["name"] for r in live.records(user).values() if r["entity"] == "person"}
    assert names == {"Mary Jackson"}
    assert os.stat(down).st_mode & 0o077 == 0  # the replica holds a token: private to the user


_INDEXEDDB = """async () => {
  const open = indexedDB.open("grapevine");
  const db = await new Promise((ok, no) => { open.onsuccess = () => ok(open.result);
    open.onerror = () => no(open.error); });
  const all = (name) => new Promise((ok, no) => {
    const r = db.transaction(name).objectStore(name).getAll();
    r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  try { return { records: await all("records"), outbox: await all("outbox") }; }
  finally { db.close(); }
}"""


@pytest.mark.browser
def test_the_companion_and_the_web_app_end_the_same(server, user, phone, tmp_path):
    """A phone (the web app, offline) and the companion (offline) edit the same person; after
    both sync, each holds exactly what the other holds, conflict included."""
    from playwright.sync_api import expect

    from tests.browser import add_person, go_online, sign_in, wait_all_pushed
    from tests.browser import go_offline as phone_offline

    page = phone.new_page()
    sign_in(page, server, user)
    dana = add_person(page, "Dana Ortiz")
    wait_all_pushed(page)
    desk = companion(tmp_path / "desk.sqlite3")
    desk.login(server.url, user.email, user.password)
    desk.pull()

    phone_offline(phone, page)
    page.get_by_label("Title").fill("Principal Scientist")
    page.get_by_label("Title").blur()
    expect(page.locator("#sync-status")).to_contain_text("1 change waiting")
    offline = go_offline(desk)
    person_set(offline, dana, title="Senior Scientist", department="R&D")
    with pytest.raises(sync.Unreachable):
        offline.push()
    assert offline.replica.records()[dana]["fields"]["title"] == "Senior Scientist"

    desk.sync()  # the companion's edit is the later one: its title wins
    go_online(phone, page)
    wait_all_pushed(page)
    desk.pull()

    web = page.evaluate(_INDEXEDDB)
    assert web["outbox"] == [] and desk.replica.outbox() == []
    assert {r["id"]: r for r in web["records"]} == desk.replica.server_records()
    fields = desk.replica.records()[dana]["fields"]
    assert (fields["title"], fields["department"]) == ("Senior Scientist", "R&D")
    (conflict,) = [r for r in web["records"] if r["entity"] == "conflict"]
    assert conflict["fields"]["lost"] == "Principal Scientist"
    desk.close()
