"""Bad input answers 4xx with a message naming the problem, never a 500, never a partial write."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import func, select

import sync
from server.models import Device

JSON = {"content-type": "application/json"}
PULL = {"client_id": "c-1", "cursor": "", "limit": 500}


def mutations(count: int, first_id: int = 1, client_id: str = "c-1", notes: str = "") -> list:
    ms = time.time_ns() // 1_000_000
    return [
        {
            "id": first_id + i,
            "hlc": f"{ms:013d}-{i % 0xFFFF:04x}-{client_id}",
            "name": "set",
            "args": {
                "entity": "person",
                "id": str(uuid.uuid4()),
                "base": 0,
                "fields": {"name": f"Person {first_id + i}", **({"notes": notes} if notes else {})},
            },
        }
        for i in range(count)
    ]


async def devices_of(engine, user_id: str) -> int:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                select(func.count()).select_from(Device).where(Device.user_id == user_id)
            )
        ).scalar_one()


async def assert_still_healthy_and_empty(client, account) -> None:
    assert (await client.get("/api/health")).status_code == 200
    pulled = await client.post(
        f"/api/stores/{account.store_id}/pull", json=PULL, headers=account.auth
    )
    assert pulled.status_code == 200
    assert pulled.json()["changes"] == []
    assert pulled.json()["last_mutation_id"] == 0


async def post_login(client, body: bytes):
    return await client.post("/api/login", content=body, headers=JSON)


# Sign-in: each body holds the right credentials, so only the check stands between it and a
# new device.


@pytest.mark.parametrize(
    ("spoil", "message"),
    [(lambda b: b[:-1], "truncated"), (lambda b: b.replace(b'"email"', b"email"), "malformed")],
    ids=["truncated", "unquoted key"],
)
async def test_malformed_json_on_login_is_400_with_a_message(
    client, engine, account, spoil, message
):
    body = json.dumps({"email": account.email, "password": account.password}).encode()
    response = await post_login(client, spoil(body))
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert await devices_of(engine, account.user_id) == 1
    await assert_still_healthy_and_empty(client, account)


@pytest.mark.parametrize(
    ("field", "value"), [("email", 5), ("password", ["x"]), ("device_name", {"a": 1})]
)
async def test_a_wrong_type_on_login_is_400_naming_the_field(client, engine, account, field, value):
    body = {"email": account.email, "password": account.password, field: value}
    response = await post_login(client, json.dumps(body).encode())
    assert response.status_code == 400
    assert field in response.text
    assert "token" not in response.json()
    assert await devices_of(engine, account.user_id) == 1
    await assert_still_healthy_and_empty(client, account)


async def test_an_unknown_field_on_login_is_400_naming_it(client, engine, account):
    body = {"email": account.email, "password": account.password, "remember_me": True}
    response = await post_login(client, json.dumps(body).encode())
    assert response.status_code == 400
    assert "remember_me" in response.text
    assert await devices_of(engine, account.user_id) == 1
    await assert_still_healthy_and_empty(client, account)


async def test_a_missing_field_on_login_is_400_naming_it(client, account):
    response = await post_login(client, json.dumps({"email": account.email}).encode())
    assert response.status_code == 400
    assert "password" in response.text


async def test_an_oversize_login_body_is_413(client, engine, account):
    credentials = json.dumps({"email": account.email, "password": account.password}).encode()
    body = credentials + b" " * (6 * 1024 * 1024)  # still valid JSON
    response = await post_login(client, body)
    assert response.status_code == 413
    assert response.json()["detail"]
    assert await devices_of(engine, account.user_id) == 1
    await assert_still_healthy_and_empty(client, account)


async def test_wrong_types_on_pair_are_400_naming_the_field(client):
    response = await client.post("/api/pair", json={"code": 12345678})
    assert response.status_code == 400
    assert "code" in response.text


# Push: envelope errors refuse the whole batch and say how far the server got.


async def push(client, account, body: bytes):
    return await client.post(
        f"/api/stores/{account.store_id}/push", content=body, headers={**account.auth, **JSON}
    )


async def test_malformed_json_on_push_is_400_with_an_envelope(client, account):
    body = json.dumps({"client_id": "c-1", "mutations": mutations(3)}).encode()[:-2]
    response = await push(client, account, body)
    assert response.status_code == 400
    envelope = response.json()
    assert set(envelope) == {"status_code", "detail", "last_mutation_id"}
    assert envelope["status_code"] == 400
    assert "JSON" in envelope["detail"]
    await assert_still_healthy_and_empty(client, account)


async def test_a_wrong_type_on_push_is_400_naming_the_field(client, account):
    body = json.dumps({"client_id": "c-1", "mutations": {"id": 1}}).encode()
    response = await push(client, account, body)
    assert response.status_code == 400
    assert set(response.json()) == {"status_code", "detail", "last_mutation_id"}
    assert "mutations" in response.json()["detail"]
    await assert_still_healthy_and_empty(client, account)


async def test_a_push_body_over_5_mb_is_413_and_applies_nothing(client, account):
    batch = mutations(700, notes="n" * 8000)  # every mutation valid on its own
    body = json.dumps({"client_id": "c-1", "mutations": batch}).encode()
    assert sync.MAX_BODY_BYTES < len(body) < 6 * 1024 * 1024
    response = await push(client, account, body)
    assert response.status_code == 413
    envelope = response.json()
    assert set(envelope) == {"status_code", "detail", "last_mutation_id"}
    assert envelope["status_code"] == 413
    await assert_still_healthy_and_empty(client, account)


async def test_an_oversize_push_reports_the_clients_progress(client, account):
    first = json.dumps({"client_id": "c-1", "mutations": mutations(1)}).encode()
    assert (await push(client, account, first)).json()["last_mutation_id"] == 1
    batch = mutations(700, first_id=2, notes="n" * 8000)
    body = json.dumps({"client_id": "c-1", "mutations": batch}).encode()
    response = await push(client, account, body)
    assert response.status_code == 413
    assert response.json()["last_mutation_id"] == 1
    pulled = await client.post(
        f"/api/stores/{account.store_id}/pull", json=PULL, headers=account.auth
    )
    assert len(pulled.json()["changes"]) == 1


async def test_a_push_body_over_the_server_limit_is_413_in_the_envelope(client, account):
    body = json.dumps({"client_id": "c-1", "mutations": mutations(1)}).encode()
    response = await push(client, account, body + b" " * (4 * sync.MAX_BODY_BYTES))
    assert response.status_code == 413
    assert set(response.json()) == {"status_code", "detail", "last_mutation_id"}
    await assert_still_healthy_and_empty(client, account)


async def test_1001_mutations_are_413_with_last_mutation_id(client, account):
    body = json.dumps({"client_id": "c-1", "mutations": mutations(1001)}).encode()
    assert len(body) < sync.MAX_BODY_BYTES
    response = await push(client, account, body)
    assert response.status_code == 413
    envelope = response.json()
    assert envelope["last_mutation_id"] == 0
    assert "1001" in envelope["detail"].replace(",", "")
    await assert_still_healthy_and_empty(client, account)


async def test_1001_mutations_report_what_the_server_has_processed(client, account):
    first = json.dumps({"client_id": "c-1", "mutations": mutations(1)}).encode()
    assert (await push(client, account, first)).json()["last_mutation_id"] == 1
    body = json.dumps({"client_id": "c-1", "mutations": mutations(1001, first_id=2)}).encode()
    response = await push(client, account, body)
    assert response.status_code == 413
    assert response.json()["last_mutation_id"] == 1
    pulled = await client.post(
        f"/api/stores/{account.store_id}/pull", json=PULL, headers=account.auth
    )
    assert len(pulled.json()["changes"]) == 1
    assert pulled.json()["last_mutation_id"] == 1


async def test_exactly_1000_mutations_are_accepted(client, account):
    body = json.dumps({"client_id": "c-1", "mutations": mutations(1000)}).encode()
    response = await push(client, account, body)
    assert response.status_code == 200
    assert response.json()["last_mutation_id"] == 1000


@pytest.mark.parametrize(
    "body",
    [b"{", b"[]", b'{"client_id": 5, "cursor": ""}', b'{"client_id": "c-1", "since": 0}'],
    ids=["malformed", "array", "wrong type", "unknown field"],
)
async def test_a_bad_pull_is_400(client, account, body):
    response = await client.post(
        f"/api/stores/{account.store_id}/pull", content=body, headers={**account.auth, **JSON}
    )
    assert response.status_code == 400
    assert response.json()["detail"]
    assert (await client.get("/api/health")).status_code == 200
