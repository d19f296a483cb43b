"""The merge rules of protocol v1, on SQLite and PostgreSQL, without HTTP."""

from __future__ import annotations

import copy
import time

import msgspec
import pytest

import sync
from tests.synckit import Device, MemoryBackend, uid

T0 = 1_790_000_000_000  # simulated devices start here; the server clock is real and later


def devices(*names: str) -> list[Device]:
    return [Device(n, start_ms=T0 + i) for i, n in enumerate(names)]


async def test_set_creates_a_record_with_every_schema_field(store):
    (phone,) = devices("phone")
    pid = uid()
    results = await store.apply(
        phone, phone.set("person", pid, 0, name="Dana Ortiz", stage="talked")
    )
    assert results[0].status == "applied"
    rec = await store.one(pid)
    assert rec["entity"] == "person" and rec["version"] == 1 and not rec["deleted"]
    assert set(rec["fields"]) == set(sync.ENTITIES["person"].fields)
    assert rec["fields"]["name"] == "Dana Ortiz"
    assert rec["fields"]["tags"] == [] and rec["fields"]["title"] is None


async def test_a_write_that_saw_the_current_value_wins_even_with_an_older_clock(store):
    phone, desk = devices("phone", "desk")
    pid = uid()
    await store.apply(phone, phone.set("person", pid, 0, name="Dana"))
    phone.advance(100_000)
    await store.apply(phone, phone.set("person", pid, 1, title="Engineer"))
    # desk's clock is far behind, but it pulled version 2 before writing
    await store.apply(desk, desk.set("person", pid, 2, title="Senior Engineer"))
    rec = await store.one(pid)
    assert rec["fields"]["title"] == "Senior Engineer"
    assert await store.conflicts() == []


@pytest.mark.parametrize("order", ["phone first", "desk first"])
async def test_concurrent_writes_later_hlc_wins_and_the_loser_is_kept(store, order):
    phone, desk = devices("phone", "desk")
    pid = uid()
    await store.apply(phone, phone.set("person", pid, 0, name="Dana"))
    early = phone.set("person", pid, 1, title="Principal Scientist")
    desk.advance(5_000)
    late = desk.set("person", pid, 1, title="Senior Scientist")
    pushes = [(phone, early), (desk, late)]
    if order == "desk first":
        pushes.reverse()
    for device, mutation in pushes:
        assert (await store.apply(device, mutation))[0].status == "applied"
    rec = await store.one(pid)
    assert rec["fields"]["title"] == "Senior Scientist"
    (conflict,) = await store.conflicts()
    assert conflict["entity"] == "person" and conflict["record_id"] == pid
    assert conflict["field"] == "title"
    assert conflict["kept"] == "Senior Scientist"
    assert conflict["lost"] == "Principal Scientist"
    assert conflict["lost_client"] == "phone"
    assert conflict["lost_hlc"] == early.hlc


async def test_a_clients_own_later_write_wins_without_a_newer_base(store):
    (phone,) = devices("phone")
    pid = uid()
    await store.apply(
        phone,
        phone.set("person", pid, 0, name="Dana"),
        phone.set("person", pid, 0, title="first"),
        phone.set("person", pid, 0, title="second"),
    )
    assert (await store.one(pid))["fields"]["title"] == "second"
    assert await store.conflicts() == []


async def test_edits_to_different_fields_all_survive(store):
    phone, desk = devices("phone", "desk")
    pid = uid()
    await store.apply(phone, phone.set("person", pid, 0, name="Dana"))
    await store.apply(phone, phone.set("person", pid, 1, title="CTO"))
    await store.apply(desk, desk.set("person", pid, 1, department="R&D", strength=4))
    fields = (await store.one(pid))["fields"]
    assert (fields["title"], fields["department"], fields["strength"]) == ("CTO", "R&D", 4)
    assert await store.conflicts() == []


NOTES = "culture: collaborative\nprospects: growing\nprojects: new fab line\nfit: good\n"


async def test_text_edits_to_separate_lines_merge_without_conflict(store):
    phone, desk = devices("phone", "desk")
    cid, pid = uid(), uid()
    await store.apply(
        phone,
        phone.set("person", pid, 0, name="Dana"),
        phone.set("conversation", cid, 0, person_id=pid, notes=NOTES),
    )
    mine = NOTES.replace("culture: collaborative", "culture: collaborative, flat hierarchy")
    theirs = NOTES.replace("fit: good", "fit: very good, ask about Q3")
    await store.apply(phone, phone.set("conversation", cid, 1, notes=mine))
    await store.apply(desk, desk.set("conversation", cid, 1, notes=theirs))
    notes = (await store.one(cid))["fields"]["notes"]
    assert "flat hierarchy" in notes and "ask about Q3" in notes
    assert notes.count("\n") == 4
    assert await store.conflicts() == []


async def test_text_edits_to_the_same_line_become_a_conflict(store):
    phone, desk = devices("phone", "desk")
    cid, pid = uid(), uid()
    await store.apply(
        phone,
        phone.set("person", pid, 0, name="Dana"),
        phone.set("conversation", cid, 0, person_id=pid, notes=NOTES),
    )
    mine = NOTES.replace("prospects: growing", "prospects: hiring freeze")
    desk.advance(1_000)
    theirs = NOTES.replace("prospects: growing", "prospects: two openings")
    await store.apply(phone, phone.set("conversation", cid, 1, notes=mine))
    await store.apply(desk, desk.set("conversation", cid, 1, notes=theirs))
    assert (await store.one(cid))["fields"]["notes"] == theirs
    (conflict,) = await store.conflicts()
    assert conflict["field"] == "notes" and conflict["lost"] == mine and conflict["kept"] == theirs


async def test_set_elements_later_stamp_wins_and_add_wins_a_tie(store):
    phone, desk = devices("phone", "desk")
    pid = uid()
    await store.apply(phone, phone.set("person", pid, 0, name="Dana", tags=["alumni"]))
    remove = desk.remove("person", pid, "tags", "alumni")  # stamped T0+1: later than the add
    await store.apply(desk, remove)
    assert (await store.one(pid))["fields"]["tags"] == []
    # an add stamped exactly as the remove wins the tie
    tie = sync.Mutation(id=desk.next_id, hlc=remove.hlc, name="add", args=remove.args)
    await store.apply(desk, tie)
    assert (await store.one(pid))["fields"]["tags"] == ["alumni"]
    # an older remove arriving late loses to the newer add
    stale = phone.remove("person", pid, "tags", "alumni")
    assert stale.hlc < remove.hlc
    await store.apply(phone, stale)
    assert (await store.one(pid))["fields"]["tags"] == ["alumni"]
    assert await store.conflicts() == []


async def test_writing_a_whole_set_is_per_element_last_writer_wins(store):
    phone, desk = devices("phone", "desk")
    pid = uid()
    await store.apply(phone, phone.set("person", pid, 0, name="Dana", tags=["a", "b"]))
    early = desk.add("person", pid, "tags", "early")  # stamped T0+1
    desk.advance(10_000)
    late = desk.add("person", pid, "tags", "late")  # stamped T0+10001
    phone.advance(5_000)
    whole = phone.set("person", pid, 1, tags=["a", "c"])  # stamped T0+5000
    # the whole-set write arrives between them: b and early are out, late is in
    await store.apply(desk, early)
    await store.apply(phone, whole)
    await store.apply(desk, late)
    assert (await store.one(pid))["fields"]["tags"] == ["a", "c", "late"]


async def test_delete_leaves_a_tombstone(store):
    (phone,) = devices("phone")
    pid = uid()
    await store.apply(phone, phone.set("person", pid, 0, name="Dana"))
    await store.apply(phone, phone.delete("person", pid, 1))
    rec = await store.one(pid)
    assert rec["deleted"] and rec["version"] == 2
    assert rec["fields"]["name"] == "Dana"


@pytest.mark.parametrize("order", ["edit first", "delete first"])
async def test_an_edit_concurrent_with_a_delete_keeps_the_record(store, order):
    phone, desk = devices("phone", "desk")
    pid = uid()
    await store.apply(phone, phone.set("person", pid, 0, name="Dana"))
    edit = phone.set("person", pid, 1, notes="met at lunch")
    delete = desk.delete("person", pid, 1)
    pushes = [(phone, edit), (desk, delete)]
    if order == "delete first":
        pushes.reverse()
    for device, m in pushes:
        assert (await store.apply(device, m))[0].status == "applied"
    rec = await store.one(pid)
    assert not rec["deleted"]
    assert rec["fields"]["notes"] == "met at lunch"
    (conflict,) = await store.conflicts()
    assert conflict["field"] is None
    assert (conflict["kept"], conflict["lost"]) == ("kept", "deleted")
    assert conflict["lost_client"] == "desk"
    # choosing the delete deletes it
    await store.apply(desk, desk.resolve(conflict["id"], "lost"))
    assert (await store.one(pid))["deleted"]
    assert await store.conflicts() == []


async def test_an_edit_after_a_delete_it_saw_is_refused(store):
    (phone,) = devices("phone")
    pid = uid()
    await store.apply(phone, phone.set("person", pid, 0, name="Dana"))
    await store.apply(phone, phone.delete("person", pid, 1))
    (result,) = await store.apply(phone, phone.set("person", pid, 2, title="x"))
    assert result.status == "rejected" and "deleted" in result.error


async def test_merge_folds_a_duplicate_into_the_survivor(store):
    phone, desk = devices("phone", "desk")
    org, keep, dup, conv, ref, fu = uid(), uid(), uid(), uid(), uid(), uid()
    other = uid()
    await store.apply(
        phone,
        phone.set("organization", org, 0, name="Helios"),
        phone.set("person", keep, 0, name="Dana Ortiz", title="CTO", tags=["alumni"]),
        phone.set(
            "person", dup, 0, name="Dana O.", title="Chief Tech", department="R&D", tags=["mrs"]
        ),
        phone.set("person", other, 0, name="Sam"),
        phone.set("conversation", conv, 0, person_id=dup, organization_id=org),
        phone.set("referral", ref, 0, from_person_id=other, to_person_id=dup),
        phone.set("followup", fu, 0, person_id=dup, due="2026-12-01"),
    )
    (result,) = await store.apply(desk, desk.merge("person", dup, keep))
    assert result.status == "applied"
    state = await store.state()
    assert state[dup]["deleted"] and state[dup]["fields"]["merged_into"] == keep
    survivor = state[keep]["fields"]
    assert survivor["name"] == "Dana Ortiz" and survivor["title"] == "CTO"
    assert survivor["department"] == "R&D"  # empty field filled
    assert survivor["tags"] == ["alumni", "mrs"]  # sets unioned
    assert state[conv]["fields"]["person_id"] == keep
    assert state[ref]["fields"]["to_person_id"] == keep
    assert state[ref]["fields"]["from_person_id"] == other
    assert state[fu]["fields"]["person_id"] == keep
    lost = {c["field"]: c["lost"] for c in await store.conflicts()}
    assert lost == {"name": "Dana O.", "title": "Chief Tech"}

    # later writes naming the duplicate land on the survivor; a delete of it does nothing
    later = uid()
    results = await store.apply(
        phone,
        phone.set("person", dup, 1, linkedin_url="https://example.com/in/dana"),
        phone.add("person", dup, "tags", "met-at-lunch"),
        phone.set("conversation", later, 0, person_id=dup),
        phone.delete("person", dup, 1),
    )
    assert [r.status for r in results] == ["applied"] * 4
    state = await store.state()
    assert state[keep]["fields"]["linkedin_url"] == "https://example.com/in/dana"
    assert "met-at-lunch" in state[keep]["fields"]["tags"]
    assert state[later]["fields"]["person_id"] == keep
    assert not state[keep]["deleted"]


@pytest.mark.parametrize("order", ["merge first", "edit first"])
@pytest.mark.parametrize("edit_is", ["later", "earlier"])
async def test_a_merge_and_a_concurrent_edit_of_the_duplicate_agree_in_any_order(
    store, order, edit_is
):
    seed, editor, merger = devices("seed", "editor", "merger")
    if edit_is == "later":
        editor.advance(50)
    else:
        merger.advance(50)
    keep, dup = uid(), uid()
    await store.apply(
        seed,
        seed.set("person", keep, 0, name="Dana Ortiz", title="CTO"),
        seed.set("person", dup, 0, name="Dana O.", title="Chief Tech"),
    )
    merge = merger.merge("person", dup, keep)
    edit = editor.set("person", dup, 1, title="Chief Technology Officer")
    pushes = [(merger, merge), (editor, edit)]
    if order == "edit first":
        pushes.reverse()
    for device, m in pushes:
        assert (await store.apply(device, m))[0].status == "applied"
    state = await store.state()
    # By the clocks: an edit after the merge wins; one before it lost to the survivor's value.
    expected = "Chief Technology Officer" if edit_is == "later" else "CTO"
    assert state[keep]["fields"]["title"] == expected
    assert state[dup]["deleted"] and state[dup]["fields"]["merged_into"] == keep
    titles = {c["lost"] for c in await store.conflicts() if c["field"] == "title"}
    titles |= {c["kept"] for c in await store.conflicts() if c["field"] == "title"}
    assert {"CTO", "Chief Technology Officer"} <= titles  # whichever lost is kept as a conflict


@pytest.mark.parametrize("choose", ["kept", "lost", "value"])
async def test_resolve_closes_a_conflict(store, choose):
    phone, desk = devices("phone", "desk")
    pid = uid()
    await store.apply(phone, phone.set("person", pid, 0, name="Dana"))
    await store.apply(phone, phone.set("person", pid, 1, title="A"))
    desk.advance(10)
    await store.apply(desk, desk.set("person", pid, 1, title="B"))
    (conflict,) = await store.conflicts()
    extra = {"value": "C"} if choose == "value" else {}
    (result,) = await store.apply(desk, desk.resolve(conflict["id"], choose, **extra))
    assert result.status == "applied"
    expected = {"kept": "B", "lost": "A", "value": "C"}[choose]
    assert (await store.one(pid))["fields"]["title"] == expected
    assert await store.conflicts() == []
    assert len(await store.conflicts("resolved")) == 1
    (again,) = await store.apply(phone, phone.resolve(conflict["id"], "kept"))
    assert again.status == "rejected" and "resolved already" in again.error


async def test_resolving_with_a_value_cannot_clear_a_required_field(store):
    phone, desk = devices("phone", "desk")
    pid = uid()
    await store.apply(phone, phone.set("person", pid, 0, name="Dana"))
    await store.apply(phone, phone.set("person", pid, 1, name="Dana Ortiz"))
    desk.advance(10)
    await store.apply(desk, desk.set("person", pid, 1, name="Dana O."))
    (conflict,) = await store.conflicts()
    (result,) = await store.apply(desk, desk.resolve(conflict["id"], "value", value=None))
    assert result.status == "rejected" and "person.name is required" in result.error
    assert (await store.one(pid))["fields"]["name"] == "Dana O."
    assert len(await store.conflicts()) == 1


async def test_a_clock_more_than_a_minute_fast_is_clamped(store):
    (desk,) = devices("desk")
    pid = uid()
    await store.apply(desk, desk.set("person", pid, 0, name="Dana"))
    fast = Device("fast", start_ms=sync.wall_ms() + 3_600_000)  # an hour ahead
    await store.apply(fast, fast.set("person", pid, 1, title="from the future"))
    honest = Device("honest", start_ms=sync.wall_ms() + 5_000)
    await store.apply(honest, honest.set("person", pid, 1, title="honest"))
    # without the clamp the fast clock's stamp would have won
    assert (await store.one(pid))["fields"]["title"] == "honest"
    (conflict,) = await store.conflicts()
    assert conflict["lost"] == "from the future"
    assert int(conflict["lost_hlc"][:13]) < sync.wall_ms() + sync.MAX_DRIFT_MS


BAD = [
    ({"entity": "planet", "fields": {"name": "x"}}, "unknown entity 'planet'"),
    ({"fields": {"name": "x", "shoe_size": 9}}, "unknown field person.shoe_size"),
    ({"fields": {"name": 5}}, "person.name must be a string"),
    ({"fields": {"name": "x", "stage": "married"}}, "person.stage must be one of"),
    ({"fields": {"name": "x", "strength": 9}}, "person.strength must be from 0 to 5"),
    ({"fields": {"name": "x", "notes": "n" * 100_001}}, "limit is 100,000"),
    ({"fields": {"title": "no name"}}, "a new person needs name"),
    ({"fields": {"name": "x", "organization_id": "acme"}}, "is not a UUID"),
    ({"fields": {"name": "x", "tags": "alumni"}}, "person.tags must be a list of strings"),
    ({"entity": "conflict", "fields": {"status": "resolved"}}, "written by the server only"),
    ({"id": "not-a-uuid", "fields": {"name": "x"}}, "is not a UUID"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m for _, m in BAD])
async def test_a_bad_mutation_is_rejected_alone_and_named(store, change, message):
    (phone,) = devices("phone")
    good_before, good_after = uid(), uid()
    args = {"entity": "person", "id": uid(), "base": 0, **change}
    response = await store.push(
        phone,
        [
            phone.set("person", good_before, 0, name="before"),
            phone.mutation("set", **args),
            phone.set("person", good_after, 0, name="after"),
        ],
    )
    statuses = [r.status for r in response.results]
    assert statuses == ["applied", "rejected", "applied"]
    assert message in response.results[1].error
    assert response.last_mutation_id == 3
    state = await store.state()
    assert set(state) == {good_before, good_after}


async def test_unknown_mutation_and_malformed_args_are_rejected(store):
    (phone,) = devices("phone")
    batch = [
        phone.mutation("rename", entity="person", id=uid()),
        phone.mutation("set", entity="person", id=uid()),  # no base, no fields
        phone.set("person", uid(), 0, name="x"),
    ]
    batch[-1].hlc = "yesterday"
    batch.append(phone.mutation("resolve", conflict=uid(), choose="kept"))
    batch.append(phone.mutation("add", entity="person", id=uid(), field="name", value="x"))
    response = await store.push(phone, batch)
    errors = [r.error for r in response.results]
    assert all(r.status == "rejected" for r in response.results)
    assert "unknown mutation 'rename'" in errors[0]
    assert "base" in errors[1] or "fields" in errors[1]
    assert "hlc 'yesterday'" in errors[2]
    assert errors[3].startswith("no conflict")
    assert "person.name is not a set field" in errors[4]


async def test_clearing_a_required_field_is_refused(store):
    (phone,) = devices("phone")
    pid = uid()
    await store.apply(phone, phone.set("person", pid, 0, name="Dana"))
    (r,) = await store.apply(phone, phone.set("person", pid, 1, name=None))
    assert r.status == "rejected" and "person.name is required" in r.error
    assert (await store.one(pid))["fields"]["name"] == "Dana"


async def test_a_retried_batch_is_acknowledged_not_applied_twice(store):
    (phone,) = devices("phone")
    pid = uid()
    batch = [phone.set("person", pid, 0, name="Dana"), phone.add("person", pid, "tags", "x")]
    first = await store.push(phone, batch)
    assert [r.status for r in first.results] == ["applied", "applied"]
    again = await store.push(phone, [*batch, phone.set("person", pid, 2, title="CTO")])
    assert [r.status for r in again.results] == ["duplicate", "duplicate", "applied"]
    rec = await store.one(pid)
    assert rec["version"] == 3 and rec["fields"]["title"] == "CTO"


async def test_a_gap_in_mutation_ids_refuses_the_batch(store):
    (phone,) = devices("phone")
    await store.apply(phone, phone.set("person", uid(), 0, name="one"))
    phone.next_id += 1  # skip id 2
    pid = uid()
    with pytest.raises(sync.EnvelopeError) as refused:
        await store.push(phone, [phone.set("person", pid, 0, name="three")])
    assert refused.value.status == 409 and refused.value.last_mutation_id == 1
    assert "next id must be 2" in refused.value.detail
    assert pid not in await store.state()


async def test_a_client_id_is_bound_to_its_first_device(store, engine):
    from server.database import write_transaction
    from server.storage import SqlBackend

    (phone,) = devices("phone")
    await store.apply(phone, phone.set("person", uid(), 0, name="Dana"))
    async with write_transaction(engine) as conn:
        backend = SqlBackend(conn, store.store_id)
        await backend.lock()
        request = sync.PushRequest("phone", [phone.set("person", uid(), 0, name="x")])
        with pytest.raises(sync.EnvelopeError) as refused:
            await sync.push(backend, "another-device", request, store.clock)
    assert refused.value.status == 403


async def test_a_push_prepared_before_the_lock_is_applied_as_one_that_is_not():
    """PostgreSQL decodes a push's args and checks its values before it waits for the store's
    lock (sync.prepare). Answers and stored records are the same as without: each mutation
    takes what was prepared for its place (a repeated id, a duplicate, takes nothing of it),
    and every refusal keeps its message and its order."""
    seed, phone = Device("seed"), Device("phone")
    known, other = uid(), uid()
    first = [seed.set("person", known, 0, name="Rosa Chen", title="Engineer")]
    mutations = [
        phone.set("person", other, 0, name="Tomas Ek", organization_id=None),
        phone.set("person", known, 1, title="Director", strength=3),
        phone.set("person", uid(), 0, name="Too strong", strength=99),
        phone.set("planet", uid(), 0, name="Mars"),
        phone.set("person", uid(), 0, name="Odd", favourite="tea"),
        phone.set("conflict", uid(), 0, status="resolved"),
        phone.mutation("teleport", id=uid()),
        phone.set("referral", uid(), 0, from_person_id=known, to_person_id=other),
        phone.delete("person", other, 1),
    ]
    broken = phone.mutation("set", entity="person", id=uid(), base=0, fields={})
    mutations.append(
        sync.Mutation(id=broken.id, hlc=broken.hlc, name="set", args=msgspec.Raw(b"{"))
    )
    again = phone.set("person", known, 2, title="Not this one")
    # The same id again, other args: a duplicate, whose args must not be taken for the first's.
    other_args = msgspec.Raw(
        msgspec.json.encode(
            {"entity": "person", "id": known, "base": 2, "fields": {"title": "Nor this"}}
        )
    )
    mutations += [again, sync.Mutation(id=again.id, hlc=again.hlc, name="set", args=other_args)]
    request = sync.PushRequest(client_id="phone", mutations=mutations)

    now = int(time.time() * 1000)
    outcomes = []
    for prepared in (sync.prepare(request), None):
        backend = MemoryBackend()
        clock = sync.HLC("server", now=lambda: now)
        await sync.push(backend, "dev-seed", sync.PushRequest("seed", first), clock)
        answer = await sync.push(backend, "dev-phone", request, clock, prepared)
        outcomes.append((answer, copy.deepcopy(backend.records)))
    (with_prepared, stored), (without, stored_without) = outcomes
    assert with_prepared == without
    assert stored == stored_without
    statuses = [r.status for r in with_prepared.results]
    assert statuses.count("rejected") == 6 and statuses.count("duplicate") == 1
    assert stored[known].fields["title"] == "Not this one"
