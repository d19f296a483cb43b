"""Record ids as our clients make them: time-ordered UUIDs (v7), next to old random ones."""

from __future__ import annotations

import uuid

import pytest

import sync
from tests.synckit import Device, uid
from tests.test_sync_api import pull_everything, push


def test_a_new_id_is_a_canonical_uuid7_holding_its_millisecond():
    ms = 1_764_499_200_123
    made = sync.new_id(ms)
    parsed = uuid.UUID(made)
    assert str(parsed) == made  # canonical: what the engine accepts as an id
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert parsed.int >> 80 == ms
    now = uuid.UUID(sync.new_id()).int >> 80
    assert abs(now - sync.wall_ms()) < 60_000
    with pytest.raises(ValueError):
        sync.new_id(1 << 48)
    with pytest.raises(ValueError):
        sync.new_id(-1)


def test_ids_made_later_sort_after_and_ids_of_one_millisecond_differ():
    made = [sync.new_id(ms) for ms in (1_000, 1_001, 70_000, 1_764_499_200_123)]
    assert sorted(made) == made
    same = {sync.new_id(5) for _ in range(1000)}
    assert len(same) == 1000


def test_the_replica_makes_time_ordered_ids(tmp_path):
    with sync.Replica(tmp_path / "replica.db") as replica:
        assert uuid.UUID(replica.new_id()).version == 7


async def test_the_server_takes_new_ids_and_old_random_ones_alike(client, account):
    phone = Device("phone")
    new, old = sync.new_id(), uid()
    answer = await push(
        client,
        account,
        phone,
        [phone.set("person", new, 0, name="Made today"), phone.set("person", old, 0, name="Old")],
    )
    assert answer.status_code == 200
    assert [r["status"] for r in answer.json()["results"]] == ["applied", "applied"]
    seen, _, _ = await pull_everything(client, account)
    assert {seen[new]["fields"]["name"], seen[old]["fields"]["name"]} == {"Made today", "Old"}
