"""Sign-in, throttling, pairing, logout and devices over HTTP, on both engines."""

from __future__ import annotations

from litestar.testing import AsyncTestClient
from sqlalchemy import select, text

from server import accounts
from server.app import create_app
from server.database import write_transaction
from server.models import Device, PairingCode, User
from server.settings import Settings
from tests.conftest import WEB_DIR, make_account


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(client, email: str, password: str):
    return await client.post("/api/login", json={"email": email, "password": password})


async def store_ids(client, token: str) -> list[str]:
    response = await client.get("/api/stores", headers=bearer(token))
    assert response.status_code == 200
    return [s["id"] for s in response.json()]


async def test_login_with_the_right_password_gives_a_working_token(client, account):
    response = await login(client, account.email, account.password)
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == account.user_id
    assert body["token"] and body["token"] != account.token
    assert await store_ids(client, body["token"]) == [account.store_id]


async def test_login_ignores_the_case_of_the_email(client, account):
    response = await login(client, account.email.upper(), account.password)
    assert response.status_code == 200
    assert response.json()["user_id"] == account.user_id


async def test_login_with_a_wrong_password_is_401_without_a_token(client, account):
    response = await login(client, account.email, "not the password")
    assert response.status_code == 401
    assert "token" not in response.json()
    assert "gv_" not in response.text


async def test_login_for_an_unknown_email_is_401(client):
    response = await login(client, "nobody-here@example.com", "whatever password")
    assert response.status_code == 401
    assert "token" not in response.json()


async def test_after_five_failures_even_the_right_password_waits(client, account):
    for _ in range(accounts.FREE_FAILURES):
        assert (await login(client, account.email, "wrong password")).status_code == 401
    response = await login(client, account.email, account.password)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "token" not in response.json()


async def test_throttling_is_per_email(client, account, other_account):
    for _ in range(accounts.FREE_FAILURES):
        assert (await login(client, account.email, "wrong password")).status_code == 401
    response = await login(client, other_account.email, other_account.password)
    assert response.status_code == 200


async def test_a_successful_login_resets_the_failure_count(client, account):
    for _ in range(accounts.FREE_FAILURES - 1):
        assert (await login(client, account.email, "wrong password")).status_code == 401
    assert (await login(client, account.email, account.password)).status_code == 200
    # Without the reset these would be failures 5 to 8, and the next attempt would wait.
    for _ in range(accounts.FREE_FAILURES - 1):
        assert (await login(client, account.email, "wrong password")).status_code == 401
    assert (await login(client, account.email, account.password)).status_code == 200


async def test_pairing_code_expires_in_ten_minutes_and_names_itself_in_the_url(client, account):
    before = accounts.now_ms()
    response = await client.post("/api/pairing", headers=account.auth)
    assert response.status_code == 201
    body = response.json()
    assert body["code"]
    assert before + 9 * 60_000 <= body["expires_at"] <= accounts.now_ms() + 11 * 60_000
    assert body["code"] in body["url"]
    assert body["url"].startswith("http://testserver.local/")


async def test_pairing_url_keeps_a_host_that_starts_with_pair(engine, db_url, account):
    app = create_app(Settings(database_url=db_url, web_dir=WEB_DIR))
    async with AsyncTestClient(app=app, base_url="http://pairing.example.com") as client:
        response = await client.post("/api/pairing", headers=account.auth)
    assert response.status_code == 201
    body = response.json()
    assert body["url"] == f"http://pairing.example.com/pair#{body['code']}"


async def test_pairing_needs_a_token(client):
    response = await client.post("/api/pairing")
    assert response.status_code == 401


async def test_a_pairing_code_gives_a_new_device_of_the_same_user(client, account):
    code = (await client.post("/api/pairing", headers=account.auth)).json()["code"]
    response = await client.post("/api/pair", json={"code": code, "device_name": "phone"})
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == account.user_id
    assert body["token"] != account.token
    assert await store_ids(client, body["token"]) == [account.store_id]
    devices = (await client.get("/api/devices", headers=bearer(body["token"]))).json()
    assert {d["id"] for d in devices} == {account.device_id, body["device_id"]}


async def test_a_pairing_code_is_accepted_without_dash_and_in_lower_case(client, account):
    code = (await client.post("/api/pairing", headers=account.auth)).json()["code"]
    typed = code.replace("-", "").lower()
    response = await client.post("/api/pair", json={"code": typed})
    assert response.status_code == 200


async def test_a_pairing_code_works_only_once(client, account):
    code = (await client.post("/api/pairing", headers=account.auth)).json()["code"]
    assert (await client.post("/api/pair", json={"code": code})).status_code == 200
    again = await client.post("/api/pair", json={"code": code})
    assert again.status_code == 400
    assert "token" not in again.json()


async def test_a_garbage_pairing_code_is_400(client):
    response = await client.post("/api/pair", json={"code": "NOPE-NOPE"})
    assert response.status_code == 400
    assert "token" not in response.json()


async def test_an_expired_pairing_code_is_400(client, engine, account):
    code = (await client.post("/api/pairing", headers=account.auth)).json()["code"]
    async with write_transaction(engine) as conn:
        await conn.execute(
            text("UPDATE pairing_codes SET expires_ms = :t WHERE user_id = :u"),
            {"t": accounts.now_ms() - 1000, "u": account.user_id},
        )
    response = await client.post("/api/pair", json={"code": code})
    assert response.status_code == 400
    assert "token" not in response.json()


async def test_signing_out_the_device_that_showed_a_code_cancels_it(client, account):
    code = (await client.post("/api/pairing", headers=account.auth)).json()["code"]
    assert (await client.post("/api/logout", headers=account.auth)).status_code == 204
    response = await client.post("/api/pair", json={"code": code})
    assert response.status_code == 400
    assert "token" not in response.json()


async def test_a_wrong_email_is_checked_like_a_wrong_password(client, account, monkeypatch):
    """An unknown email still runs argon2, so response times do not reveal who has an account."""
    checked: list[str] = []
    real = accounts._verify_quietly

    def counting(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(accounts, "_verify_quietly", counting)
    for email in ("nobody-here@example.com", account.email):
        r = await client.post("/api/login", json={"email": email, "password": "wrong guess"})
        assert r.status_code == 401
    assert len(checked) == 2 and all(h.startswith("$argon2") for h in checked)


async def test_logout_revokes_the_token(client, account):
    assert (await client.get("/api/stores", headers=account.auth)).status_code == 200
    response = await client.post("/api/logout", headers=account.auth)
    assert response.status_code == 204
    after = await client.get("/api/stores", headers=account.auth)
    assert after.status_code == 401


async def test_logout_leaves_the_other_devices_signed_in(client, account):
    other = (await login(client, account.email, account.password)).json()["token"]
    assert (await client.post("/api/logout", headers=account.auth)).status_code == 204
    assert await store_ids(client, other) == [account.store_id]


async def test_devices_lists_the_users_devices_and_marks_the_current_one(
    client, account, other_account
):
    second = (await login(client, account.email, account.password)).json()
    response = await client.get("/api/devices", headers=account.auth)
    assert response.status_code == 200
    devices = {d["id"]: d for d in response.json()}
    assert set(devices) == {account.device_id, second["device_id"]}
    assert devices[account.device_id]["current"] is True
    assert devices[second["device_id"]]["current"] is False
    assert devices[account.device_id]["name"] == "test device"
    assert other_account.device_id not in devices


async def test_deleting_a_device_revokes_its_token(client, account):
    second = (await login(client, account.email, account.password)).json()
    assert (await client.get("/api/stores", headers=bearer(second["token"]))).status_code == 200
    response = await client.delete(f"/api/devices/{second['device_id']}", headers=account.auth)
    assert response.status_code == 204
    assert (await client.get("/api/stores", headers=bearer(second["token"]))).status_code == 401
    remaining = (await client.get("/api/devices", headers=account.auth)).json()
    assert [d["id"] for d in remaining] == [account.device_id]


async def test_deleting_another_users_device_is_404_and_changes_nothing(
    client, account, other_account
):
    response = await client.delete(f"/api/devices/{other_account.device_id}", headers=account.auth)
    assert response.status_code == 404
    assert (await client.get("/api/stores", headers=other_account.auth)).status_code == 200


async def test_tokens_are_stored_hashed(client, engine, account):
    fresh = (await login(client, account.email, account.password)).json()["token"]
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Device).where(Device.user_id == account.user_id))).all()
    assert len(rows) == 2
    stored = " ".join(str(value) for row in rows for value in tuple(row))
    assert account.token not in stored
    assert fresh not in stored
    assert fresh.removeprefix("gv_") not in stored


async def test_pairing_codes_are_stored_hashed(client, engine, account):
    code = (await client.post("/api/pairing", headers=account.auth)).json()["code"]
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(PairingCode).where(PairingCode.user_id == account.user_id))
        ).all()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in tuple(rows[0]))
    assert code not in stored
    assert code.replace("-", "") not in stored


async def test_passwords_are_stored_as_argon2_hashes(engine):
    account = await make_account(engine, password="a long secret phrase")
    async with engine.connect() as conn:
        stored = (
            await conn.execute(select(User.password_hash).where(User.id == account.user_id))
        ).scalar_one()
    assert stored.startswith("$argon2")
    assert "a long secret phrase" not in stored


async def test_parallel_wrong_guesses_are_all_counted_and_none_fails(client, engine, account):
    import asyncio

    from sqlalchemy import select

    from server.models import LoginFailure

    async def guess():
        body = {"email": account.email, "password": "not the password"}
        return (await client.post("/api/login", json=body)).status_code

    codes = await asyncio.gather(*(guess() for _ in range(8)))
    assert set(codes) <= {401, 429} and 401 in codes  # wrong, or slowed down: never a 500
    async with engine.connect() as conn:
        failures = (
            await conn.execute(
                select(LoginFailure.failures).where(LoginFailure.email == account.email)
            )
        ).scalar_one()
    assert failures == codes.count(401)  # every checked guess counted, none lost in a race
    right = await client.post(
        "/api/login", json={"email": account.email, "password": account.password}
    )
    assert right.status_code == 429  # the right password waits its turn too
