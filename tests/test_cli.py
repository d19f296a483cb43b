"""The `grapevine` command as a subprocess: users, devices, stores, errors, and its tokens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from server.app import create_app
from server.database import create_engine
from server.models import User
from server.settings import Settings
from tests.conftest import WEB_DIR

GRAPEVINE = Path(sys.executable).parent / "grapevine"


def run(*args: str, database: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GRAPEVINE_DATABASE_URL"}
    return subprocess.run(
        [str(GRAPEVINE), *args, "--database", database],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def run_json(*args: str, database: str) -> dict:
    result = run(*args, "--json", database=database)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


@pytest.fixture
def database(tmp_path: Path) -> str:
    """A SQLite file path, as a person would type it."""
    return str(tmp_path / "cli.db")


async def stores_seen_with(url: str, token: str) -> list[dict]:
    app = create_app(Settings(database_url=url, web_dir=WEB_DIR))
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/api/stores", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return response.json()


def test_user_add_prints_one_json_object_with_ids_and_token(database):
    user = run_json(
        "user", "add", "--email", "ana@example.com", "--password", "pw-ana-123", database=database
    )
    assert {"user_id", "store_id", "token"} <= set(user)
    assert all(isinstance(user[k], str) and user[k] for k in ("user_id", "store_id", "token"))
    assert Path(database).is_file()


def test_user_add_without_json_prints_the_token(database):
    result = run("user", "add", "--email", "ana@example.com", database=database)
    assert result.returncode == 0, result.stderr
    assert "token gv_" in result.stdout


def test_device_add_prints_a_different_token_for_the_same_user(database):
    user = run_json("user", "add", "--email", "ana@example.com", database=database)
    device = run_json(
        "device", "add", "--email", "ana@example.com", "--name", "phone", database=database
    )
    assert device["user_id"] == user["user_id"]
    assert device["store_id"] == user["store_id"]
    assert device["token"] and device["token"] != user["token"]


def test_store_add_share_and_list(database):
    ana = run_json("user", "add", "--email", "ana@example.com", database=database)
    ben = run_json("user", "add", "--email", "ben@example.com", database=database)
    store = run_json(
        "store", "add", "--email", "ana@example.com", "--name", "Job club", database=database
    )
    assert store["user_id"] == ana["user_id"]
    assert store["store_id"] not in (ana["store_id"], ben["store_id"])
    shared = run_json(
        "store",
        "share",
        store["store_id"],
        "--email",
        "ben@example.com",
        "--role",
        "viewer",
        database=database,
    )
    assert shared["user_id"] == ben["user_id"]
    listed = run_json("store", "list", "--email", "ben@example.com", database=database)
    roles = {s["id"]: s["role"] for s in listed["stores"]}
    assert roles == {ben["store_id"]: "owner", store["store_id"]: "viewer"}
    names = {s["id"]: s["name"] for s in listed["stores"]}
    assert names[store["store_id"]] == "Job club"


def test_a_duplicate_email_fails_on_stderr_with_nothing_on_stdout(database):
    run_json("user", "add", "--email", "ana@example.com", database=database)
    result = run("user", "add", "--email", "ANA@example.com", "--json", database=database)
    assert result.returncode != 0
    assert "ana@example.com" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_bad_role_is_refused_by_the_parser(database):
    user = run_json("user", "add", "--email", "ana@example.com", database=database)
    run_json("user", "add", "--email", "ben@example.com", database=database)
    result = run(
        "store",
        "share",
        user["store_id"],
        "--email",
        "ben@example.com",
        "--role",
        "admin",
        "--json",
        database=database,
    )
    assert result.returncode == 2
    assert "--role" in result.stderr
    assert result.stdout == ""
    listed = run_json("store", "list", "--email", "ben@example.com", database=database)
    assert user["store_id"] not in {s["id"] for s in listed["stores"]}


def test_device_add_for_an_unknown_email_fails(database):
    run_json("user", "add", "--email", "ana@example.com", database=database)
    result = run(
        "device",
        "add",
        "--email",
        "nobody@example.com",
        "--name",
        "phone",
        "--json",
        database=database,
    )
    assert result.returncode != 0
    assert "nobody@example.com" in result.stderr
    assert result.stdout == ""


def test_sharing_an_unknown_store_fails(database):
    run_json("user", "add", "--email", "ana@example.com", database=database)
    result = run(
        "store",
        "share",
        "no-such-store",
        "--email",
        "ana@example.com",
        "--role",
        "editor",
        "--json",
        database=database,
    )
    assert result.returncode != 0
    assert "no-such-store" in result.stderr
    assert result.stdout == ""


def test_an_unsupported_database_fails_cleanly():
    result = run("user", "add", "--email", "ana@example.com", database="mysql://localhost/x")
    assert result.returncode != 0
    assert "unsupported database" in result.stderr
    assert "Traceback" not in result.stderr


async def test_cli_tokens_work_against_the_app(database):
    user = run_json("user", "add", "--email", "ana@example.com", database=database)
    device = run_json(
        "device", "add", "--email", "ana@example.com", "--name", "phone", database=database
    )
    for token in (user["token"], device["token"]):
        stores = await stores_seen_with(database, token)
        assert [(s["id"], s["role"]) for s in stores] == [(user["store_id"], "owner")]


async def test_cli_password_lets_the_user_sign_in(database):
    user = run_json(
        "user", "add", "--email", "ana@example.com", "--password", "pw-ana-123", database=database
    )
    app = create_app(Settings(database_url=database, web_dir=WEB_DIR))
    async with AsyncTestClient(app=app) as client:
        response = await client.post(
            "/api/login", json={"email": "ana@example.com", "password": "pw-ana-123"}
        )
    assert response.status_code == 200
    assert response.json()["user_id"] == user["user_id"]


async def test_database_selects_postgresql(postgres_url):
    email = f"cli-{uuid.uuid4().hex[:12]}@example.com"
    # The plain postgresql:// form a person would type, without the driver.
    plain = "postgresql://" + postgres_url.split("://", 1)[1]
    user = run_json("user", "add", "--email", email, database=plain)
    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            found = (await conn.execute(select(User.id).where(User.email == email))).scalar_one()
    finally:
        await engine.dispose()
    assert found == user["user_id"]
    stores = await stores_seen_with(postgres_url, user["token"])
    assert [s["id"] for s in stores] == [user["store_id"]]
