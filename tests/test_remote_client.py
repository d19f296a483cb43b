"""The Python sync client and its replica, without a server: the rebase against the web
client's own code, the replica across restarts, and each recovery path of docs/protocol.md §3.4
against a scripted server (httpx.MockTransport)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import sync
from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parent.parent
STORE = "7bb903d4-7c35-49b0-9c15-147cf32e4cc8"
P1, P2, P3 = (f"00000000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3))


def ids() -> Callable[[], str]:
    n = iter(range(1, 10**6))
    return lambda: f"10000000-0000-4000-8000-{next(n):012d}"


def replica(tmp_path: Path, name: str = "r.sqlite3") -> sync.Replica:
    return sync.Replica(tmp_path / name, now=lambda: 1_767_225_600_000, new_id=ids())


def session(**over: Any) -> sync.Session:
    fields = {
        "server": "http://grapevine.test",
        "token": "t",
        "user_id": "u1",
        "device_id": "d1",
        "store_id": STORE,
        "store_name": "mine",
        "role": "owner",
        "email": "a@example.com",
    }
    return sync.Session(**{**fields, **over})


def put(r: sync.Replica, record_id: str, **fields: Any) -> dict[str, Any]:
    args = {"entity": "person", "id": record_id, "base": r.base(record_id), "fields": fields}
    return r.enqueue([("set", args)])[0]


class Server:
    """A scripted server: each push is answered by `on_push` (default: apply everything)."""

    def __init__(self) -> None:
        self.pushes: list[dict[str, Any]] = []
        self.pulls: list[dict[str, Any]] = []
        self.last: dict[str, int] = {}
        self.on_push: Callable[[dict[str, Any]], httpx.Response | None] = lambda body: None
        self.pages: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        if request.url.path.endswith("/push"):
            self.pushes.append(body)
            scripted = self.on_push(body)
            if scripted is not None:
                return scripted
            last = self.last.get(body["client_id"], 0)
            results = []
            for m in body["mutations"]:
                if m["id"] <= last:
                    results.append({"id": m["id"], "status": "duplicate"})
                    continue
                if m["id"] != last + 1:
                    return envelope(409, "gap", last)
                last = m["id"]
                results.append({"id": m["id"], "status": "applied"})
            self.last[body["client_id"]] = last
            return httpx.Response(200, json={"last_mutation_id": last, "results": results})
        if request.url.path.endswith("/pull"):
            self.pulls.append(body)
            page = self.pages.pop(0) if self.pages else {"changes": []}
            return httpx.Response(
                200,
                json={
                    "cursor": "c",
                    "more": False,
                    "reset": False,
                    "last_mutation_id": self.last.get(body["client_id"], 0),
                    "hlc": "1767225600000-0000-server",
                    **page,
                },
            )
        raise AssertionError(request.url)


def envelope(status: int, detail: str, last: int | None) -> httpx.Response:
    return httpx.Response(
        status, json={"status_code": status, "detail": detail, "last_mutation_id": last}
    )


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
def client(tmp_path: Path, server: Server):
    r = replica(tmp_path)
    r.start_session(session())
    waits: list[float] = []
    c = sync.SyncClient(r, transport=httpx.MockTransport(server.handle), sleep=waits.append)
    c.waits = waits  # type: ignore[attr-defined]
    yield c
    c.close()
    r.close()


# ----- the rebase, against the web client's ---------------------------------------------

REBASE_CASES: list[dict[str, Any]] = [
    {
        "server": [
            {
                "entity": "person",
                "id": P1,
                "version": 3,
                "deleted": False,
                "fields": {"name": "Dana", "title": "CTO", "tags": ["b"], "organization_id": None},
            },
            {
                "entity": "person",
                "id": P2,
                "version": 1,
                "deleted": False,
                "fields": {"name": "Dana O.", "title": None, "tags": ["z"], "department": "R&D"},
            },
            {
                "entity": "conversation",
                "id": P3,
                "version": 1,
                "deleted": False,
                "fields": {"person_id": P2, "notes": "lunch"},
            },
        ],
        "pending": [
            {
                "name": "set",
                "args": {
                    "entity": "person",
                    "id": P1,
                    "base": 3,
                    "fields": {"title": "CEO", "tags": ["c", "a", "c"]},
                },
            },
            {"name": "add", "args": {"entity": "person", "id": P1, "field": "tags", "value": "d"}},
            {
                "name": "remove",
                "args": {"entity": "person", "id": P1, "field": "tags", "value": "a"},
            },
            {"name": "merge", "args": {"entity": "person", "id": P2, "into": P1}},
            {
                "name": "set",
                "args": {"entity": "person", "id": P2, "base": 1, "fields": {"linkedin_url": "x"}},
            },
        ],
    },
    {
        "server": [
            {
                "entity": "person",
                "id": P1,
                "version": 2,
                "deleted": False,
                "fields": {"name": "Dana", "title": "CTO"},
            },
            {
                "entity": "conflict",
                "id": P3,
                "version": 1,
                "deleted": False,
                "fields": {
                    "entity": "person",
                    "record_id": P1,
                    "field": "title",
                    "kept": "CTO",
                    "lost": "CEO",
                    "status": "open",
                },
            },
        ],
        "pending": [
            {"name": "resolve", "args": {"conflict": P3, "choose": "lost"}},
            {"name": "delete", "args": {"entity": "person", "id": P1, "base": 2}},
            {
                "name": "set",
                "args": {
                    "entity": "person",
                    "id": P2,
                    "base": 0,
                    "fields": {"name": "New", "emails": None},
                },
            },
            {
                "name": "set",
                "args": {"entity": "person", "id": P1, "base": 2, "fields": {"stage": "talked"}},
            },
        ],
    },
]


def test_the_rebase_is_the_web_clients(tmp_path):
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed")
    script = """
import { view } from './web/js/model.js';
const cases = JSON.parse(process.argv[1]);
const out = cases.map(({server, pending}) =>
  Object.fromEntries(view(new Map(server.map((r) => [r.id, r])), pending)));
console.log(JSON.stringify(out));
"""
    out = subprocess.run(
        [node, "--input-type=module", "-e", script, json.dumps(REBASE_CASES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for case, web in zip(REBASE_CASES, json.loads(out), strict=True):
        ours = sync.view({r["id"]: r for r in case["server"]}, case["pending"])
        assert ours == web
    # And the server copy itself is never modified by showing pending edits.
    assert REBASE_CASES[0]["server"][0]["fields"]["title"] == "CTO"


# ----- the replica -----------------------------------------------------------------------


def test_the_replica_survives_a_restart(tmp_path):
    r = replica(tmp_path)
    r.start_session(session())
    client_id = r.client_id
    put(r, P1, name="Dana")
    r.save_page(
        [{"entity": "person", "id": P2, "version": 4, "deleted": False, "fields": {"name": "Sam"}}],
        "cursor-1",
        "1767225600500-0003-server",
    )
    r.acknowledge(1, {})
    r.close()

    again = replica(tmp_path)
    assert again.session == session()
    assert again.client_id == client_id and again.next_id == 2
    assert again.cursor == "cursor-1"
    assert again.base(P2) == 4
    assert [m["acked"] for m in again.outbox()] == [True]  # shown until the pull
    assert again.records()[P1]["fields"]["name"] == "Dana"
    # The clock moved past the server's stamp and never goes back.
    assert put(again, P2, title="x")["hlc"] == f"1767225600500-0004-{client_id}"


def test_signing_in_again_carries_over_only_the_same_accounts_edits(tmp_path):
    r = replica(tmp_path)
    r.start_session(session())
    first = r.client_id
    put(r, P1, name="Dana")
    put(r, P2, name="Sam")
    r.acknowledge(1, {})
    r.end_session()
    assert r.session is None and r.waiting() == 1

    assert r.start_session(session(token="t2", device_id="d2")) == 1
    assert r.client_id != first
    (carried,) = r.outbox()
    assert carried["id"] == 1 and carried["hlc"].endswith(r.client_id)
    assert carried["args"]["id"] == P2

    assert r.start_session(session(user_id="someone else")) == 0
    assert r.outbox() == []
    (kept,) = r.refused()
    assert kept.mutation["args"]["id"] == P2 and "another store or account" in kept.error


# ----- push ------------------------------------------------------------------------------


def test_a_lost_response_is_retried_with_the_same_mutations(client, server):
    put(client.replica, P1, name="Dana")
    put(client.replica, P2, name="Sam")
    calls = 0

    def lose_first(body):
        nonlocal calls
        calls += 1
        if calls == 1:  # processed, but the answer never arrives
            server.last[body["client_id"]] = 2
            raise httpx.ReadError("connection reset")
        return None

    server.on_push = lose_first
    report = client.push()
    assert server.pushes[0] == server.pushes[1]
    assert (report.duplicate, report.applied) == (2, 0)
    assert client.waits == [0.5]
    assert client.replica.waiting() == 0


def test_a_busy_server_is_retried_after_its_retry_after(client, server):
    put(client.replica, P1, name="Dana")
    answers = [httpx.Response(503, headers={"Retry-After": "3"}), None]
    server.on_push = lambda body: answers.pop(0)
    assert client.push().applied == 1
    assert client.waits == [3.0]


def test_no_answer_at_all_keeps_the_edits(client, server):
    put(client.replica, P1, name="Dana")

    def down(body):
        raise httpx.ConnectError("refused")

    server.on_push = down
    with pytest.raises(sync.Unreachable):
        client.push()
    assert client.waits == [0.5, 1.0, 2.0]
    assert client.replica.waiting() == 1


def test_batches_stay_under_the_limits(client, server):
    client.replica.enqueue(
        [
            ("set", {"entity": "person", "id": P1, "base": 0, "fields": {"n": i}})
            for i in range(1201)
        ]
    )
    client.batch_size = 500
    client.push()
    assert [len(p["mutations"]) for p in server.pushes] == [500, 500, 201]
    big = "x" * 90_000
    client.replica.enqueue(
        [("set", {"entity": "person", "id": P1, "base": 0, "fields": {"notes": big}})] * 120
    )
    server.pushes.clear()
    client.push()
    assert all(len(json.dumps(p)) < sync.MAX_BODY_BYTES for p in server.pushes)
    assert sum(len(p["mutations"]) for p in server.pushes) == 120


def test_a_gap_renumbers_what_is_pending(client, server):
    """The server was restored from a backup: it has processed only up to 1."""
    for n in range(4):
        put(client.replica, P1, title=f"t{n}")
    client.replica.acknowledge(2, {})  # 1 and 2 acknowledged by the server before its restore
    client.replica.drop_acknowledged()
    server.last[client.replica.client_id] = 1
    report = client.push()
    assert [m["id"] for m in server.pushes[-1]["mutations"]] == [2, 3]
    assert [m["args"]["fields"]["title"] for m in server.pushes[-1]["mutations"]] == ["t2", "t3"]
    assert report.applied == 2 and client.replica.next_id == 4


def test_too_large_halves_the_batch(client, server):
    client.batch_size = 4
    for n in range(4):
        put(client.replica, P1, title=f"t{n}")
    server.on_push = lambda body: (
        envelope(413, "too many", 0) if len(body["mutations"]) > 1 else None
    )
    client.push()
    assert [len(p["mutations"]) for p in server.pushes] == [4, 2, 1, 1, 1, 1]
    assert client.replica.waiting() == 0


def test_a_client_id_of_another_device_takes_a_new_one(client, server):
    put(client.replica, P1, name="Dana")
    put(client.replica, P2, name="Sam")
    old = client.replica.client_id
    server.on_push = lambda body: (
        envelope(403, "this client_id belongs to another device", None)
        if body["client_id"] == old
        else None
    )
    client.push()
    new = client.replica.client_id
    assert new != old
    sent = server.pushes[-1]
    assert sent["client_id"] == new
    assert [m["id"] for m in sent["mutations"]] == [1, 2]
    assert all(m["hlc"].endswith(f"-{new}") for m in sent["mutations"])
    assert (
        sent["mutations"][0]["hlc"].split("-")[:2]
        == server.pushes[0]["mutations"][0]["hlc"].split("-")[:2]
    )


def test_a_viewer_keeps_its_edits_aside(client, server):
    put(client.replica, P1, name="Dana")
    server.on_push = lambda body: envelope(403, "a viewer of this store cannot write to it", None)
    report = client.push()
    assert report.refused == "a viewer of this store cannot write to it"
    assert client.replica.waiting() == 0
    (kept,) = client.replica.refused()
    assert kept.mutation["args"]["fields"] == {"name": "Dana"}


def test_rejected_mutations_are_kept_for_the_user(client, server):
    put(client.replica, P1, name="Dana")
    put(client.replica, P1, stage="married")
    server.on_push = lambda body: httpx.Response(
        200,
        json={
            "last_mutation_id": 2,
            "results": [
                {"id": 1, "status": "applied"},
                {"id": 2, "status": "rejected", "error": "person.stage must be one of …"},
            ],
        },
    )
    report = client.push()
    assert [e for _, e in report.rejected] == ["person.stage must be one of …"]
    assert [m["id"] for m in client.replica.outbox()] == [1]  # acknowledged, shown until pull
    (kept,) = client.replica.refused()
    assert kept.mutation["args"]["fields"] == {"stage": "married"}
    assert client.replica.records()[P1]["fields"]["stage"] is None


def test_signed_out_elsewhere_keeps_unsynced_edits(client, server):
    put(client.replica, P1, name="Dana")
    server.on_push = lambda body: envelope(401, "unknown or revoked device token", None)
    with pytest.raises(sync.SignedOut):
        client.sync()
    assert client.replica.session is None
    assert client.replica.waiting() == 1


def test_a_refused_push_still_pulls(client, server):
    put(client.replica, P1, name="Dana")
    server.on_push = lambda body: envelope(400, "invalid push: …", 0)
    server.pages = [
        {
            "changes": [
                {
                    "entity": "person",
                    "id": P2,
                    "version": 1,
                    "deleted": False,
                    "fields": {"name": "Sam"},
                }
            ]
        }
    ]
    report = client.sync()
    assert report.push_error is not None and report.push_error.status == 400
    assert report.pull.changes == 1
    assert client.replica.records()[P2]["fields"]["name"] == "Sam"
    assert client.replica.waiting() == 1


def test_a_server_that_processed_ids_we_never_issued_moves_our_numbering(client, server):
    """The replica was restored from an old copy: new ids must not be taken for duplicates."""
    server.last[client.replica.client_id] = 7
    client.pull()
    assert put(client.replica, P1, name="Dana")["id"] == 8


# ----- pull ------------------------------------------------------------------------------


def test_pull_pages_until_done_and_drops_acknowledged(client, server):
    put(client.replica, P1, name="Dana")
    client.push()
    assert client.replica.outbox()[0]["acked"]
    change = {
        "entity": "person",
        "id": P1,
        "version": 1,
        "deleted": False,
        "fields": {"name": "Dana"},
    }
    server.pages = [
        {"changes": [], "more": True, "cursor": "c1"},
        {"changes": [change], "more": False, "cursor": "c2"},
    ]
    report = client.pull()
    assert report.pages == 2 and report.changed == {P1}
    assert [p["cursor"] for p in server.pulls] == ["", "c1"]
    assert client.replica.outbox() == [] and client.replica.cursor == "c2"


def test_reset_drops_the_copy_and_keeps_the_outbox(client, server):
    client.replica.save_page(
        [
            {
                "entity": "person",
                "id": P2,
                "version": 9,
                "deleted": False,
                "fields": {"name": "Gone"},
            }
        ],
        "stale",
        "1767225600000-0000-server",
    )
    put(client.replica, P1, name="Dana")
    server.pages = [{"reset": True, "cursor": ""}, {"changes": []}]
    report = client.pull()
    assert report.reset
    assert [p["cursor"] for p in server.pulls] == ["stale", ""]
    assert P2 not in client.replica.records()
    assert client.replica.waiting() == 1


def test_a_server_that_always_resets_is_an_error(client, server):
    server.pages = [{"reset": True, "cursor": ""}] * 3
    with pytest.raises(sync.SyncError, match="reset"):
        client.pull()


# ----- capture ---------------------------------------------------------------------------


def test_capture_matches_a_person_by_name_or_creates_one(tmp_path):
    r = replica(tmp_path)
    r.start_session(session())
    put(r, P1, name="Dana  Ortiz", stage="contacted")
    new_id = ids()

    def plan(person: str, **kw: Any) -> sync.Capture:
        return sync.plan_capture(
            r.records(),
            "notes",
            person,
            base=r.base,
            new_id=new_id,
            now=dt.datetime(2026, 11, 24, 12, 15, 30, tzinfo=dt.UTC),
            **kw,
        )

    known = plan("dana ortiz")
    assert known.person_id == P1 and not known.new_person
    assert known.mutations[0][1]["fields"] == {"stage": "talked"}
    convo = known.mutations[1][1]
    assert convo["fields"]["at"] == "2026-11-24T12:15:00Z" and convo["fields"]["kind"] == "other"

    fresh = plan(
        "Sam Lee", place="KubeCon", organization="Helios", referrals=["Dana Ortiz", "Ruth"]
    )
    assert fresh.new_person and fresh.new_organization
    names = [m[1]["fields"].get("name") for m in fresh.mutations if m[1]["entity"] == "person"]
    assert names == ["Sam Lee", "Ruth"]  # Dana is matched, not created again
    referrals = [m[1]["fields"] for m in fresh.mutations if m[1]["entity"] == "referral"]
    assert [f["to_person_id"] == P1 for f in referrals] == [True, False]

    put(r, P2, name="Dana Ortiz")
    with pytest.raises(ValueError, match="2 people are named"):
        plan("Dana Ortiz")
    assert plan(P2).person_id == P2  # an id picks one


def test_capture_reads_name_and_role_as_the_app_does(tmp_path):
    r = replica(tmp_path)
    r.start_session(session())
    put(r, P1, name="Dana Ortíz", stage="contacted")
    capture = sync.plan_capture(
        r.records(),
        "notes",
        "Priya Nair, cell process engineer",
        base=r.base,
        new_id=ids(),
        now=dt.datetime(2026, 11, 24, 12, 15, tzinfo=dt.UTC),
        referrals=["Sam Lee (recruiter)", "dr. dana ortiz", "“Smith, John” — CTO", "Sam Lee"],
    )
    people = [m[1]["fields"] for m in capture.mutations if m[1]["entity"] == "person"]
    assert people[0]["name"] == "Priya Nair" and people[0]["title"] == "cell process engineer"
    made = [(p["name"], p.get("title")) for p in people[1:]]
    assert made == [("Sam Lee", "recruiter"), ("Smith, John", "CTO")]  # Dana is known
    referrals = [m[1]["fields"] for m in capture.mutations if m[1]["entity"] == "referral"]
    assert len(referrals) == 3 and referrals[1]["to_person_id"] == P1
    # a whole name that is someone's is theirs, commas and all
    put(r, P2, name="Lee, Sam")
    again = sync.plan_capture(
        r.records(), "", "Lee, Sam", base=r.base, new_id=ids(),
        now=dt.datetime(2026, 11, 24, tzinfo=dt.UTC),
    )  # fmt: skip
    assert again.person_id == P2 and not again.new_person


def test_a_capture_dated_later_schedules_the_conversation(tmp_path):
    r = replica(tmp_path)
    r.start_session(session())
    put(r, P1, name="Dana Ortiz", stage="contacted")
    followup = {"person_id": P1, "kind": "follow_up", "due": "2026-11-20"}
    r.enqueue([("set", {"entity": "followup", "id": P2, "base": 0, "fields": followup})])
    now = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)

    def plan(at: str) -> sync.Capture:
        return sync.plan_capture(
            r.records(), "prep", "Dana Ortiz", base=r.base, new_id=ids(), now=now, at=at,
            referrals=["Sam Lee"],
        )  # fmt: skip

    later = plan("2027-01-12T09:00:00Z")
    assert later.scheduled
    kinds = [(m[1]["entity"], m[1]["fields"]) for m in later.mutations]
    assert kinds[0] == ("person", {"stage": "scheduled"})
    assert [k for k, _ in kinds] == ["person", "conversation"]  # no referral, follow-up open
    held = plan("2026-11-24T11:00:00Z")
    assert not held.scheduled
    assert held.mutations[0][1]["fields"] == {"stage": "talked"}
    assert {m[1]["entity"] for m in held.mutations} == {
        "person", "conversation", "referral", "followup"
    }  # fmt: skip
