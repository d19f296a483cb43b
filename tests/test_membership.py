"""Who may reach which store: 401 without a token, 404 for others' stores, viewers only read."""

from __future__ import annotations

import time
import uuid

import msgspec
import pytest
from sqlalchemy import delete, func, select

from server import accounts
from server.database import write_transaction
from server.models import Client, Device, Membership, Record

PULL = {"client_id": "c-1", "cursor": "", "limit": 500}


def push_body(client_id: str = "c-1", name: str = "Dana") -> dict:
    hlc = f"{time.time_ns() // 1_000_000:013d}-0000-{client_id}"
    return {
        "client_id": client_id,
        "mutations": [
            {
                "id": 1,
                "hlc": hlc,
                "name": "set",
                "args": {
                    "entity": "person",
                    "id": str(uuid.uuid4()),
                    "base": 0,
                    "fields": {"name": name},
                },
            }
        ],
    }


async def share(engine, store_id: str, email: str, role: str) -> None:
    async with write_transaction(engine) as conn:
        await accounts.share_store(conn, store_id, email, role)


async def records_in(engine, store_id: str) -> int:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                select(func.count()).select_from(Record).where(Record.store_id == store_id)
            )
        ).scalar_one()


BAD_AUTH = {
    "no token": {},
    "empty bearer": {"Authorization": "Bearer "},
    "basic scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
    "token scheme": {"Authorization": "Token gv_abc"},
    "unknown token": {"Authorization": "Bearer gv_this-token-was-never-issued"},
}


@pytest.mark.parametrize("headers", BAD_AUTH.values(), ids=BAD_AUTH.keys())
async def test_listing_stores_without_a_valid_token_is_401(client, headers):
    response = await client.get("/api/stores", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["detail"]


@pytest.mark.parametrize("headers", BAD_AUTH.values(), ids=BAD_AUTH.keys())
async def test_pulling_without_a_valid_token_is_401(client, account, headers):
    response = await client.post(f"/api/stores/{account.store_id}/pull", json=PULL, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "changes" not in response.json()


PUSH_BODIES = {
    "a valid push": push_body(),
    "malformed JSON": b"{not json",
    "an invalid push": {"client_id": "c-1", "mutations": "none"},
    "a gap in mutation ids": {
        **push_body(),
        "mutations": [{**push_body()["mutations"][0], "id": 7}],
    },
}


@pytest.mark.parametrize("headers", BAD_AUTH.values(), ids=BAD_AUTH.keys())
@pytest.mark.parametrize("body", PUSH_BODIES.values(), ids=PUSH_BODIES.keys())
async def test_pushing_without_a_valid_token_is_401_whatever_the_body(
    client, engine, account, headers, body
):
    """The push checks its token in its own transaction; every other answer it could give
    (a bad body, a gap) still comes only after the token is known good."""
    content = body if isinstance(body, bytes) else msgspec.json.encode(body)
    for store in (account.store_id, "not-a-store-id"):
        response = await client.post(
            f"/api/stores/{store}/push",
            content=content,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 401, response.text
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["last_mutation_id"] is None
    assert await records_in(engine, account.store_id) == 0


async def test_a_device_revoked_elsewhere_cannot_push_from_that_commit_on(client, engine, account):
    """Revoked by another process (another worker, the CLI) with no message to this one: the
    very next push is refused and writes nothing (the token is read in the push's own
    transaction; nothing about it is cached)."""
    first = await client.post(
        f"/api/stores/{account.store_id}/push", json=push_body(), headers=account.auth
    )
    assert first.status_code == 200
    async with write_transaction(engine) as conn:
        await accounts.revoke_device(conn, account.user_id, account.device_id)
    again = await client.post(
        f"/api/stores/{account.store_id}/push",
        json=push_body("c-2", "Robin"),
        headers=account.auth,
    )
    assert again.status_code == 401
    assert again.json()["detail"] == "unknown or revoked device token"
    assert await records_in(engine, account.store_id) == 1


async def test_a_member_removed_elsewhere_cannot_push_from_that_commit_on(
    client, engine, account, other_account
):
    await share(engine, other_account.store_id, account.email, "editor")
    url = f"/api/stores/{other_account.store_id}/push"
    assert (await client.post(url, json=push_body(), headers=account.auth)).status_code == 200
    async with write_transaction(engine) as conn:
        await conn.execute(
            delete(Membership).where(
                Membership.store_id == other_account.store_id,
                Membership.user_id == account.user_id,
            )
        )
    again = await client.post(url, json=push_body("c-2", "Robin"), headers=account.auth)
    assert again.status_code == 404
    assert await records_in(engine, other_account.store_id) == 1


async def test_a_push_marks_its_device_seen(client, engine, account):
    async with engine.connect() as conn:
        before = await conn.scalar(
            select(Device.last_seen_ms).where(Device.id == account.device_id)
        )
    assert before is None
    response = await client.post(
        f"/api/stores/{account.store_id}/push", json=push_body(), headers=account.auth
    )
    assert response.status_code == 200
    async with engine.connect() as conn:
        seen = await conn.scalar(select(Device.last_seen_ms).where(Device.id == account.device_id))
    assert seen is not None and abs(seen - accounts.now_ms()) < 60_000


async def test_a_bare_token_in_the_right_scheme_is_accepted_case_insensitively(client, account):
    response = await client.get("/api/stores", headers={"Authorization": f"bearer {account.token}"})
    assert response.status_code == 200


async def test_stores_lists_only_the_callers_stores_with_roles(client, account, other_account):
    response = await client.get("/api/stores", headers=account.auth)
    assert response.status_code == 200
    stores = response.json()
    assert len(stores) == 1
    assert stores[0]["id"] == account.store_id
    assert stores[0]["role"] == "owner"
    assert set(stores[0]) == {"id", "name", "role"}
    assert other_account.store_id not in {s["id"] for s in stores}


async def test_a_shared_store_is_listed_with_its_role(client, engine, account, other_account):
    await share(engine, other_account.store_id, account.email, "viewer")
    stores = {
        s["id"]: s["role"] for s in (await client.get("/api/stores", headers=account.auth)).json()
    }
    assert stores == {account.store_id: "owner", other_account.store_id: "viewer"}


def _without(text: str, store_id: str) -> str:
    return text.replace(store_id, "<store>")


@pytest.mark.parametrize("route", ["pull", "push"])
async def test_another_users_store_looks_like_a_missing_one(
    client, engine, account, other_account, route
):
    body = PULL if route == "pull" else push_body()
    missing = str(uuid.uuid4())
    theirs = await client.post(
        f"/api/stores/{other_account.store_id}/{route}", json=body, headers=account.auth
    )
    nowhere = await client.post(f"/api/stores/{missing}/{route}", json=body, headers=account.auth)
    assert theirs.status_code == 404
    assert nowhere.status_code == 404
    assert _without(theirs.text, other_account.store_id) == _without(nowhere.text, missing)
    assert dict(theirs.headers).keys() == dict(nowhere.headers).keys()
    assert await records_in(engine, other_account.store_id) == 0


async def test_a_viewer_can_pull(client, engine, account, other_account):
    await share(engine, account.store_id, other_account.email, "viewer")
    written = await client.post(
        f"/api/stores/{account.store_id}/push",
        json=push_body(name="Owner wrote"),
        headers=account.auth,
    )
    assert written.json()["results"][0]["status"] == "applied"
    response = await client.post(
        f"/api/stores/{account.store_id}/pull", json=PULL, headers=other_account.auth
    )
    assert response.status_code == 200
    assert [c["fields"]["name"] for c in response.json()["changes"]] == ["Owner wrote"]


async def test_a_viewer_cannot_push_and_nothing_is_written(client, engine, account, other_account):
    await share(engine, account.store_id, other_account.email, "viewer")
    response = await client.post(
        f"/api/stores/{account.store_id}/push",
        json=push_body("c-viewer"),
        headers=other_account.auth,
    )
    assert response.status_code == 403
    assert "results" not in response.json()
    assert await records_in(engine, account.store_id) == 0
    async with engine.connect() as conn:
        clients = (
            await conn.execute(select(Client).where(Client.store_id == account.store_id))
        ).all()
    assert clients == []
    pulled = await client.post(
        f"/api/stores/{account.store_id}/pull", json=PULL, headers=account.auth
    )
    assert pulled.json()["changes"] == []


async def test_an_editor_can_push(client, engine, account, other_account):
    await share(engine, account.store_id, other_account.email, "editor")
    response = await client.post(
        f"/api/stores/{account.store_id}/push",
        json=push_body("c-editor", "Written by the editor"),
        headers=other_account.auth,
    )
    assert response.status_code == 200
    assert response.json()["results"] == [{"id": 1, "status": "applied"}]
    pulled = await client.post(
        f"/api/stores/{account.store_id}/pull", json=PULL, headers=account.auth
    )
    assert [c["fields"]["name"] for c in pulled.json()["changes"]] == ["Written by the editor"]


async def test_sharing_again_replaces_the_role(client, engine, account, other_account):
    await share(engine, account.store_id, other_account.email, "editor")
    await share(engine, account.store_id, other_account.email, "viewer")
    response = await client.post(
        f"/api/stores/{account.store_id}/push",
        json=push_body("c-demoted"),
        headers=other_account.auth,
    )
    assert response.status_code == 403
    assert await records_in(engine, account.store_id) == 0
