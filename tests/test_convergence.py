"""Property: devices editing offline converge, whatever order and however often they push.

Three simulated devices edit the same records offline (fields, lines of notes, tags,
deletes), each from the version it last pulled. Their batches reach the server in random
interleavings, split at random and retried. Whatever the order, the final records are the
same, and no value a device wrote disappears without a conflict record keeping it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sync
from tests.conftest import make_account
from tests.synckit import Device, MemoryStore, SqlStore

RECORDS = ["0b9a6b8e-1f1e-4c55-9d0b-3a8f3b7f0a01", "0b9a6b8e-1f1e-4c55-9d0b-3a8f3b7f0a02"]
BASE_NOTES = "".join(f"line {i}\n" for i in range(7))
DEVICES = ("d0", "d1", "d2")

op = st.one_of(
    st.tuples(st.just("title"), st.sampled_from(["x", "y", "z"])),
    st.tuples(st.just("strength"), st.integers(0, 5)),
    st.tuples(st.just("line"), st.none()),
    st.tuples(st.just("add"), st.sampled_from("abc")),
    st.tuples(st.just("remove"), st.sampled_from("abc")),
    st.tuples(st.just("tags"), st.lists(st.sampled_from("abc"), unique=True, max_size=3)),
    st.tuples(st.just("delete"), st.none()),
)
device_ops = st.lists(
    st.tuples(st.sampled_from([0, 1]), op, st.integers(0, 3_000)), min_size=1, max_size=8
)
scenario = st.fixed_dictionaries(
    {
        "starts": st.tuples(*(st.integers(0, 20_000) for _ in DEVICES)),
        "ops": st.tuples(*(device_ops for _ in DEVICES)),
    }
)
# A delivery: which device's next batch goes next, where batches split, which are retried.
delivery = st.lists(st.tuples(st.integers(0, 2), st.integers(1, 4), st.booleans()), max_size=40)

T0 = 1_790_000_000_000


def offline_edits(data: dict) -> tuple[list[Device], list[list[sync.Mutation]], list[tuple]]:
    """Each device's mutations, made offline from version 1 of every record."""
    devices, streams, writes = [], [], []
    for n, name in enumerate(DEVICES):
        device = Device(name, start_ms=T0 + data["starts"][n])
        device.next_id = 1
        notes = {r: BASE_NOTES.splitlines(keepends=True) for r in RECORDS}
        tags = {r: {"a"} for r in RECORDS}
        deleted: set[str] = set()
        stream: list[sync.Mutation] = []
        for k, (which, (kind, value), pause) in enumerate(data["ops"][n]):
            device.advance(pause)
            rid = RECORDS[which]
            if rid in deleted:  # the app hides what it deleted: no more edits to it
                continue
            if kind == "title":
                stream.append(device.set("person", rid, 1, title=f"{value}-{name}"))
                writes.append((name, rid, "title", f"{value}-{name}", len(stream)))
            elif kind == "strength":
                stream.append(device.set("person", rid, 1, strength=value))
            elif kind == "line":
                notes[rid][2 * n] = f"{name} edit {k}\n"  # lines 0, 2, 4: never adjacent
                stream.append(device.set("person", rid, 1, notes="".join(notes[rid])))
            elif kind == "add":
                tags[rid].add(value)
                stream.append(device.add("person", rid, "tags", value))
            elif kind == "remove":
                tags[rid].discard(value)
                stream.append(device.remove("person", rid, "tags", value))
            elif kind == "tags":
                tags[rid] = set(value)
                stream.append(device.set("person", rid, 1, tags=sorted(value)))
            elif kind == "delete":
                deleted.add(rid)
                stream.append(device.delete("person", rid, 1))
        devices.append(device)
        streams.append(stream)
    return devices, streams, writes


async def seed(store: Any) -> None:
    setup = Device("seed", start_ms=T0 - 60_000)
    await store.apply(
        setup,
        *(
            setup.set("person", rid, 0, name=f"P{i}", title="t0", notes=BASE_NOTES, tags=["a"])
            for i, rid in enumerate(RECORDS)
        ),
    )


async def deliver(store: Any, devices, streams, plan) -> None:
    """Push every stream, interleaved and retried as the plan says, then the rest in order."""
    sent = [0] * len(devices)
    for who, size, retry in plan:
        stream = streams[who]
        if sent[who] >= len(stream):
            continue
        start = max(0, sent[who] - 1) if retry else sent[who]  # a retry resends one acked
        batch = stream[start : sent[who] + size]
        response = await store.push(devices[who], batch)
        assert all(r.status != "rejected" for r in response.results), response
        sent[who] = response.last_mutation_id
    for who, stream in enumerate(streams):
        if sent[who] < len(stream):
            response = await store.push(devices[who], stream[sent[who] :])
            assert all(r.status != "rejected" for r in response.results), response


def final(state: dict) -> dict:
    return {
        rid: (r["deleted"], {k: v for k, v in r["fields"].items()})
        for rid, r in state.items()
        if r["entity"] == "person"
    }


def assert_nothing_lost_silently(state: dict, writes: list[tuple]) -> None:
    conflicts = [r["fields"] for r in state.values() if r["entity"] == "conflict"]
    for device, rid, field, value, position in writes:
        if state[rid]["fields"][field] == value:
            continue
        later_own = any(
            w[0] == device and w[1] == rid and w[2] == field and w[4] > position for w in writes
        )
        kept = any(
            c["record_id"] == rid and c["field"] == field and value in (c["lost"], c["kept"])
            for c in conflicts
        )
        assert later_own or kept, f"{device}'s {field}={value!r} on {rid} vanished"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=scenario, first=delivery, second=delivery)
async def test_any_delivery_order_converges_in_memory(data, first, second):
    devices, streams, writes = offline_edits(data)
    states = []
    for plan in (first, second, []):
        store = MemoryStore()
        await seed(store)
        fresh = [Device(d.client_id) for d in devices]  # same ids, same mutations
        await deliver(store, fresh, streams, plan)
        states.append(await store.state())
    assert final(states[0]) == final(states[1]) == final(states[2])
    for state in states:
        assert_nothing_lost_silently(state, writes)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=scenario, first=delivery, second=delivery)
async def test_any_delivery_order_converges_on_sql(engine, data, first, second):
    devices, streams, writes = offline_edits(data)
    states = []
    for plan in (first, second):
        account = await make_account(engine)
        store = SqlStore(engine, account.store_id, account.device_id)
        await seed(store)
        await deliver(store, devices, streams, plan)
        states.append(await store.state())
    assert final(states[0]) == final(states[1])
    for state in states:
        assert_nothing_lost_silently(state, writes)
