"""Push and pull over HTTP, paging and cursors, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import msgspec

import sync
from tests.synckit import Device, uid


def body(device: Device, *mutations: sync.Mutation) -> dict:
    wire = msgspec.json.decode(msgspec.json.encode(list(mutations)))
    return {"client_id": device.client_id, "mutations": wire}


def people(device: Device, n: int, base_name: str = "p") -> list[sync.Mutation]:
    return [device.set("person", uid(), 0, name=f"{base_name}{i}") for i in range(n)]


async def push(client, account, device, mutations):
    response = await client.post(
        f"/api/stores/{account.store_id}/push", json=body(device, *mutations), headers=account.auth
    )
    return response


async def pull(client, account, cursor="", limit=500, client_id="reader"):
    response = await client.post(
        f"/api/stores/{account.store_id}/pull",
        json={"client_id": client_id, "cursor": cursor, "limit": limit},
        headers=account.auth,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def pull_everything(client, account, limit=500):
    seen: dict[str, dict] = {}
    cursor, pages = "", 0
    while True:
        page = await pull(client, account, cursor, limit)
        pages += 1
        for change in page["changes"]:
            seen[change["id"]] = change
        cursor = page["cursor"]
        if not page["more"]:
            return seen, cursor, pages


async def test_push_then_pull_round_trip(client, account):
    phone = Device("phone")
    pid = uid()
    r = await push(client, account, phone, [phone.set("person", pid, 0, name="Dana", tags=["x"])])
    assert r.status_code == 200
    assert r.json() == {"last_mutation_id": 1, "results": [{"id": 1, "status": "applied"}]}
    page = await pull(client, account, client_id="phone")
    assert page["last_mutation_id"] == 1 and page["more"] is False and page["reset"] is False
    sync.parse_hlc(page["hlc"])
    (change,) = page["changes"]
    assert change["id"] == pid and change["entity"] == "person" and change["version"] == 1
    assert change["fields"]["name"] == "Dana" and change["fields"]["tags"] == ["x"]
    assert change["fields"]["emails"] == [] and change["fields"]["hiring_authority"] is None
    # nothing new after the cursor
    again = await pull(client, account, page["cursor"])
    assert again["changes"] == [] and again["more"] is False


async def test_paging_returns_every_record_once_at_its_latest_state(client, account):
    phone = Device("phone")
    batch = people(phone, 1200)
    for start in range(0, 1200, 400):
        assert (await push(client, account, phone, batch[start : start + 400])).status_code == 200
    first = await pull(client, account, limit=500)
    assert len(first["changes"]) == 500 and first["more"]
    # a record from the first page changes before the next page is pulled
    changed = first["changes"][0]["id"]
    await push(client, account, phone, [phone.set("person", changed, 1, title="CTO")])
    ids: list[str] = [c["id"] for c in first["changes"]]
    cursor, latest = first["cursor"], {}
    while True:
        page = await pull(client, account, cursor, 500)
        ids.extend(c["id"] for c in page["changes"])
        latest.update({c["id"]: c for c in page["changes"]})
        cursor = page["cursor"]
        if not page["more"]:
            break
    assert len(set(ids)) == 1200
    assert len(ids) == 1201  # the changed record once more, at its new version
    assert latest[changed]["version"] == 2 and latest[changed]["fields"]["title"] == "CTO"


async def test_a_pull_from_the_start_says_how_many_records_it_brings(client, account):
    phone = Device("phone")
    batch = people(phone, 700)
    assert (await push(client, account, phone, batch)).status_code == 200
    first = await pull(client, account, limit=300)
    assert first["total"] == 700 and first["more"]
    second = await pull(client, account, first["cursor"], 300)
    assert "total" not in second  # later pages do not count again
    small = await pull(client, account, limit=1000)
    assert small["total"] == 700 and not small["more"]
    caught_up = await pull(client, account, small["cursor"])
    assert caught_up["changes"] == [] and "total" not in caught_up


async def test_pull_limit_is_capped(client, account):
    phone = Device("phone")
    batch = people(phone, sync.MAX_PULL_LIMIT + 1)
    for start in range(0, len(batch), 1000):
        assert (await push(client, account, phone, batch[start : start + 1000])).status_code == 200
    page = await pull(client, account, limit=1_000_000)
    assert len(page["changes"]) == sync.MAX_PULL_LIMIT and page["more"]


async def test_an_unusable_cursor_answers_reset(client, account, other_account):
    phone = Device("phone")
    await push(client, account, phone, people(phone, 3))
    _, cursor, _ = await pull_everything(client, account)
    epoch, seq = sync.decode_cursor(cursor)
    _, other_cursor, _ = await pull_everything(client, other_account)
    unusable = {
        "garbage": "not-a-cursor",
        "another store's epoch": other_cursor,
        "ahead of the store (a restored backup)": sync.encode_cursor(epoch, seq + 10),
    }
    for why, bad in unusable.items():
        page = await pull(client, account, bad)
        assert page["reset"] is True, why
        assert page["changes"] == [] and page["cursor"] == ""


async def test_pull_rejects_a_bad_limit_or_client_id(client, account):
    url = f"/api/stores/{account.store_id}/pull"
    r = await client.post(url, json={"client_id": "c", "limit": 0}, headers=account.auth)
    assert r.status_code == 400 and "limit" in r.text
    r = await client.post(url, json={"client_id": "", "limit": 5}, headers=account.auth)
    assert r.status_code == 400 and "client_id" in r.text
    r = await client.post(url, json={"client_id": "c", "cursor": 5}, headers=account.auth)
    assert r.status_code == 400 and "cursor" in r.text


async def test_envelope_errors_apply_nothing(client, account):
    phone = Device("phone")
    await push(client, account, phone, people(phone, 1))
    phone.next_id = 5  # a gap: the server expects 2
    r = await push(client, account, phone, people(phone, 2))
    assert r.status_code == 409
    assert r.json()["last_mutation_id"] == 1 and "next id must be 2" in r.json()["detail"]
    phone.next_id = 2
    r = await push(client, account, phone, people(phone, sync.MAX_MUTATIONS + 1))
    assert r.status_code == 413 and r.json()["last_mutation_id"] == 1
    everything, _, _ = await pull_everything(client, account)
    assert len(everything) == 1
    assert (await client.get("/api/health")).status_code == 200


async def test_content_errors_reject_one_mutation_over_http(client, account):
    phone = Device("phone")
    good, bad = uid(), uid()
    r = await push(
        client,
        account,
        phone,
        [
            phone.set("person", bad, 0, name="x", stage="married"),
            phone.set("person", good, 0, name="y"),
        ],
    )
    assert r.status_code == 200
    first, second = r.json()["results"]
    assert first["status"] == "rejected" and "person.stage" in first["error"]
    assert second == {"id": 2, "status": "applied"}
    everything, _, _ = await pull_everything(client, account)
    assert set(everything) == {good}


async def test_concurrent_pushes_never_let_a_puller_skip_a_change(store):
    """Writers commit while a reader pages with a small limit: it must end with everything.

    On PostgreSQL transactions commit out of order unless the store's change sequence is
    taken under its row lock; a cursor past an uncommitted number would skip that change.
    """
    writers = [Device(f"w{i}") for i in range(4)]
    ids: dict[str, int] = {}

    async def write(device: Device) -> None:
        for _ in range(15):
            batch = people(device, 20)
            for m in batch:
                ids[msgspec.json.decode(m.args)["id"]] = 1
            await store.push(device, batch)
            await asyncio.sleep(0)

    seen: dict[str, int] = {}
    done = asyncio.Event()

    async def read() -> None:
        from server.storage import pull_changes

        cursor = ""
        while True:
            finished = done.is_set()
            async with store.engine.connect() as conn:
                page = (
                    await pull_changes(conn, store.store_id, "reader", cursor, 7, "h")
                ).decoded()
            assert not page.reset
            for change in page.changes:
                seen[change.id] = change.version
            cursor = page.cursor
            if finished and not page.more:
                return
            await asyncio.sleep(0)

    reader = asyncio.create_task(read())
    await asyncio.gather(*(write(w) for w in writers))
    done.set()
    await reader
    assert len(ids) == 4 * 15 * 20
    assert set(seen) == set(ids)
