"""Sign-in, throttling, pairing, logout and devices over HTTP, on both engines."""

from __future__ import annotations

import time

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text

from server import accounts, guards
from server.app import create_app
from server.database import write_transaction
from server.models import Device, PairingCode, User
from server.settings import Settings
from tests.conftest import WEB_DIR, make_account


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(client, email: str, password: str):
    return await client.post("/api/login", json={"email": email, "password": password})


def without_address_limit(client) -> None:
    """Lift the per-address sign-in limit (every test request comes from one address)."""
    client.app.state.guards.login_by_address = guards.TokenBucket(10_000, 1)


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
    for _ in range(guards.FREE_FAILURES):
        assert (await login(client, account.email, "wrong password")).status_code == 401
    response = await login(client, account.email, account.password)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "token" not in response.json()


async def test_throttling_is_per_email(client, account, other_account):
    for _ in range(guards.FREE_FAILURES):
        assert (await login(client, account.email, "wrong password")).status_code == 401
    response = await login(client, other_account.email, other_account.password)
    assert response.status_code == 200


async def test_a_successful_login_resets_the_failure_count(client, account):
    for _ in range(guards.FREE_FAILURES - 1):
        assert (await login(client, account.email, "wrong password")).status_code == 401
    assert (await login(client, account.email, account.password)).status_code == 200
    # Without the reset these would be failures 5 to 8, and the next attempt would wait.
    for _ in range(guards.FREE_FAILURES - 1):
        assert (await login(client, account.email, "wrong password")).status_code == 401
    assert (await login(client, account.email, account.password)).status_code == 200


async def test_pairing_code_expires_in_ten_minutes_and_names_itself_in_the_url(client, account):
    before = accounts.now_ms()
    response = await client.post("/api/pairing", headers=account.auth)
    assert response.status_code == 201
    body = response.json()
    assert body["code"]
    assert before + 9 * 60_000 <= body["expires_at"] <= accounts.now_ms() + 11 * 60_000
    assert body["url"].endswith(f"/pair#{body['code']}")


async def test_pairing_url_keeps_a_host_that_starts_with_pair(engine, db_url, account):
    app = create_app(Settings(database_url=db_url, web_dir=WEB_DIR))
    async with AsyncTestClient(app=app, base_url="http://pairing.example.com") as client:
        headers = {**account.auth, "Origin": "http://pairing.example.com"}
        response = await client.post("/api/pairing", headers=headers)
    assert response.status_code == 201
    body = response.json()
    assert body["url"] == f"http://pairing.example.com/pair#{body['code']}"


async def test_pairing_url_never_comes_from_a_forged_host_header(client, account):
    headers = {**account.auth, "Host": "evil.test"}
    response = await client.post("/api/pairing", headers=headers)
    assert response.status_code == 201
    body = response.json()
    assert "evil" not in body["url"]
    assert body["url"] == f"/pair#{body['code']}"  # no trusted host: the code is typed in


async def test_pairing_url_uses_the_configured_public_url(engine, db_url, account):
    settings = Settings(database_url=db_url, web_dir=WEB_DIR, public_url="https://gv.example.org/")
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.post(
            "/api/pairing", headers={**account.auth, "Host": "evil.test", "Origin": "http://x"}
        )
    body = response.json()
    assert body["url"] == f"https://gv.example.org/pair#{body['code']}"


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


async def test_parallel_guesses_cannot_pass_the_throttle(client, account):
    """60 guesses at once: only the free ones are checked, and the right password among the
    rest waits like any other attempt (before: 56-59 were checked and #30 signed in)."""
    import asyncio

    checked = 0
    real = accounts.password_matches

    async def counting(password_hash, password):
        nonlocal checked
        checked += 1
        return await real(password_hash, password)

    accounts.password_matches = counting
    without_address_limit(client)
    try:

        async def guess(n: int):
            password = account.password if n == 30 else f"wrong guess {n}"
            body = {"email": account.email, "password": password}
            return (await client.post("/api/login", json=body)).status_code

        codes = await asyncio.gather(*(guess(n) for n in range(60)))
    finally:
        accounts.password_matches = real
    assert set(codes) <= {401, 429}, codes  # never a 500, and #30 did not get in
    assert checked == guards.FREE_FAILURES
    assert codes.count(401) == guards.FREE_FAILURES
    right = await login(client, account.email, account.password)
    assert right.status_code == 429
    assert "Pair" in right.json()["detail"] or "pair" in right.json()["detail"]


async def test_a_locked_out_email_keeps_its_devices_working(client, account):
    for _ in range(guards.FREE_FAILURES + 3):
        await login(client, account.email, "a stranger's guess")
    response = await login(client, account.email, account.password)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "Add a device" in response.json()["detail"]  # says how to get in meanwhile
    # The owner's signed-in device keeps syncing, and can pair a new one.
    assert await store_ids(client, account.token) == [account.store_id]
    code = (await client.post("/api/pairing", headers=account.auth)).json()["code"]
    paired = await client.post("/api/pair", json={"code": code, "device_name": "laptop"})
    assert paired.status_code == 200


async def test_spraying_many_emails_from_one_address_is_slowed(client):
    import asyncio

    async def attempt(n: int):
        body = {"email": f"spray{n}@example.com", "password": "password123"}
        return await client.post("/api/login", json=body)

    started = time.monotonic()
    answers = await asyncio.gather(*(attempt(n) for n in range(guards.LOGIN_BURST + 20)))
    refilled = (time.monotonic() - started) / guards.LOGIN_REFILL_S
    assert {a.status_code for a in answers} <= {401, 429}
    by_address = [a for a in answers if "from this address" in a.text]
    assert 20 - refilled - 1 <= len(by_address) <= 20
    assert all(int(a.headers["Retry-After"]) >= 1 for a in by_address)


async def test_a_refused_address_is_answered_before_its_body_is_read(client, monkeypatch):
    """Once an address is over its limit, neither its sign-ins nor its pairing guesses are
    decoded: a flood costs a token-bucket look-up each (malformed bodies are 429 too)."""
    client.app.state.guards.login_by_address = guards.TokenBucket(1, 600)
    client.app.state.guards.pair_by_address = guards.TokenBucket(1, 600)
    client.app.state.guards.pair_by_address.take("testclient")
    first = await login(client, "someone@example.com", "password123")
    assert first.status_code == 401
    for path in ("/api/login", "/api/pair"):
        refused = await client.post(
            path, content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert refused.status_code == 429, (path, refused.text)
        assert int(refused.headers["Retry-After"]) >= 1


async def test_password_hashing_runs_below_the_event_loops_priority():
    """argon2's threads are niced, so a flood of sign-ins yields the CPU to everyone's sync."""
    import os
    import threading

    def own_priority() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    await accounts.password_matches(None, "password123")  # the pool's thread exists
    hashing = await accounts._hashing(own_priority)
    assert hashing >= own_priority() + 10 or hashing == 19


async def test_unknown_emails_write_nothing_to_the_database(client, engine):
    from sqlalchemy import inspect

    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    assert "login_failures" not in tables  # failures are counted in bounded memory
    for n in range(3):
        body = {"email": f"ghost{n}@example.com", "password": "password123"}
        assert (await client.post("/api/login", json=body)).status_code == 401


async def test_a_login_holds_no_connection_while_hashing(client, account, monkeypatch):
    """argon2 runs with no pooled connection checked out (before: one per login)."""
    pool = client.app.state.engine.sync_engine.pool  # the app's own
    seen: list[int] = []
    real = accounts.password_matches

    async def watching(password_hash, password):
        seen.append(pool.checkedout())
        return await real(password_hash, password)

    monkeypatch.setattr(accounts, "password_matches", watching)
    response = await login(client, account.email, account.password)
    assert response.status_code == 200
    assert seen == [0]


async def test_more_logins_than_the_server_can_hash_are_429_not_500(client, account):
    client.app.state.guards.hashing = guards.HashingGate(at_once=0, queue=0)  # all busy
    response = await login(client, account.email, account.password)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "busy" in response.json()["detail"]


async def test_a_sign_in_refused_by_the_hashing_gate_reads_nothing(client, account):
    """Beyond what the gate can check, a sign-in is refused before it takes a connection."""
    client.app.state.guards.hashing = guards.HashingGate(at_once=0, queue=0)  # all busy
    pool = client.app.state.engine.sync_engine.pool  # the app's own
    taken = 0

    def count(*_):
        nonlocal taken
        taken += 1

    from sqlalchemy import event

    event.listen(pool, "checkout", count)
    try:
        response = await login(client, account.email, account.password)
    finally:
        event.remove(pool, "checkout", count)
    assert response.status_code == 429
    assert taken == 0


async def test_the_hashing_gate_runs_a_few_queues_a_few_and_refuses_the_rest():
    import asyncio

    gate = guards.HashingGate(at_once=2, queue=3)
    release = asyncio.Event()
    running = 0
    peak = 0

    async def check():
        nonlocal running, peak
        async with gate.slot():
            running += 1
            peak = max(peak, running)
            await release.wait()
            running -= 1
        return "checked"

    tasks = [asyncio.create_task(check()) for _ in range(8)]
    await asyncio.sleep(0.05)
    release.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert outcomes.count("checked") == 5
    assert all(isinstance(o, guards.TooMany) for o in outcomes if o != "checked")
    assert peak == 2


def test_attempts_in_flight_count_against_the_throttle():
    """The check-and-count is one step: attempts still being hashed count as failures."""
    throttle = guards.LoginThrottle()
    open_attempts = [throttle.attempt("a@example.com") for _ in range(guards.FREE_FAILURES)]
    for attempt in open_attempts:
        attempt.__enter__()
    with pytest.raises(guards.TooMany), throttle.attempt("a@example.com"):
        pass
    with throttle.attempt("b@example.com") as other:  # other emails are not affected
        other.result(True)
    for attempt in open_attempts:
        attempt.__exit__(None, None, None)
    assert throttle.failures("a@example.com") == 0  # none was checked: none counted


def test_limiters_forget_the_oldest_keys_beyond_their_bound():
    bucket = guards.TokenBucket(burst=1, refill_s=60, max_keys=100)
    for n in range(1_000):
        bucket.take(f"10.0.{n // 256}.{n % 256}")
    assert len(bucket._buckets) == 100
    throttle = guards.LoginThrottle(max_keys=100)
    for n in range(1_000):
        with throttle.attempt(f"u{n}@example.com") as attempt:
            attempt.result(False)
    assert len(throttle._emails) == 100


async def test_wrong_pairing_codes_are_rate_limited_without_the_write_lock(
    client, engine, account, monkeypatch
):
    from server import auth

    writes = 0
    real = auth.write_transaction

    def counting(*args, **kwargs):
        nonlocal writes
        writes += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(auth, "write_transaction", counting)
    codes = []
    for _ in range(guards.PAIR_BURST + 5):
        codes.append((await client.post("/api/pair", json={"code": "ABCD-EFGH"})).status_code)
    assert codes[: guards.PAIR_BURST] == [400] * guards.PAIR_BURST
    assert set(codes[guards.PAIR_BURST :]) == {429}
    assert writes == 0  # refusing a wrong code takes no write transaction
    refused = await client.post("/api/pair", json={"code": "ABCD-EFGH"})
    assert int(refused.headers["Retry-After"]) >= 1


async def test_sign_in_and_pairing_answers_are_never_cached(client, account):
    signed_in = await login(client, account.email, account.password)
    pairing = await client.post("/api/pairing", headers=account.auth)
    paired = await client.post("/api/pair", json={"code": pairing.json()["code"]})
    for response in (signed_in, pairing, paired):
        assert response.status_code in (200, 201)
        assert response.headers["Cache-Control"] == "no-store"


async def test_nul_in_login_and_names_is_400(client, account):
    bad_email = await client.post(
        "/api/login", json={"email": "a\u0000b@example.com", "password": "password123"}
    )
    assert bad_email.status_code == 400
    bad_device = await client.post(
        "/api/login",
        json={"email": account.email, "password": account.password, "device_name": "a\x00b"},
    )
    assert bad_device.status_code == 400
    assert "NUL" in bad_device.json()["detail"]
    bad_store = await client.post("/api/stores", json={"name": "x\x00y"}, headers=account.auth)
    assert bad_store.status_code == 400
    assert await store_ids(client, account.token) == [account.store_id]


async def test_nul_or_garbage_in_path_ids_is_404(client, account):
    for path in (f"/api/stores/{account.store_id}%00/pull", "/api/stores/%00/pull"):
        response = await client.post(path, json={"client_id": "c-1"}, headers=account.auth)
        assert response.status_code == 404, path
    for device in ("%00", "x" * 500):
        response = await client.delete(f"/api/devices/{device}", headers=account.auth)
        assert response.status_code == 404
        assert len(response.json()["detail"]) < 100
