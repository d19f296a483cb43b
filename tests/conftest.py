"""Shared fixtures: databases on both engines, a live app, users with tokens."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright
from sqlalchemy.ext.asyncio import AsyncEngine

from server import accounts
from server.app import create_app
from server.database import create_engine, migrate, write_transaction
from server.settings import Settings
from tests.browser import CHROMIUM, CHROMIUM_ARGS, SYNC_TIMEOUT_MS, LiveServer, User

IN_CI = os.environ.get("CI") == "true"
POSTGRES_ADMIN_URL = os.environ.get(
    "GRAPEVINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def unavailable(what: str) -> None:
    """Skip outside CI; under CI=true a missing service is a failure, never a skip."""
    if IN_CI:
        pytest.fail(f"{what} (CI=true: this must be available)")
    pytest.skip(what)


async def _postgres_reachable() -> str | None:
    try:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}"
    await conn.close()
    return None


@pytest.fixture(scope="session")
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    problem = await _postgres_reachable()
    if problem:
        unavailable(problem)
    name = f"grapevine_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"postgresql+asyncpg://{base.split('://', 1)[1]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'grapevine.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The database URL of each engine in turn (tests using it run twice)."""
    return request.getfixturevalue(f"{request.param}_url")


_engines: dict[str, AsyncEngine] = {}


@pytest.fixture
async def engine(db_url: str) -> AsyncEngine:
    """A migrated engine, shared by the tests of one database (they use their own users)."""
    if db_url not in _engines:
        eng = create_engine(db_url)
        await migrate(eng)
        _engines[db_url] = eng
    return _engines[db_url]


@pytest.fixture(scope="session", autouse=True)
async def _dispose_engines() -> AsyncIterator[None]:
    yield
    for eng in _engines.values():
        await eng.dispose()


@pytest.fixture
async def client(db_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    """The app over HTTP (in process), on the same database as `engine`."""
    app = create_app(Settings(database_url=db_url, web_dir=WEB_DIR))
    async with AsyncTestClient(app=app) as c:
        yield c


WEB_DIR = Path(__file__).resolve().parent.parent / "web"


@dataclass
class Account:
    email: str
    password: str
    user_id: str
    store_id: str
    device_id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_account(engine: AsyncEngine, password: str = "correct horse battery") -> Account:
    email = f"u{uuid.uuid4().hex[:10]}@example.com"
    async with write_transaction(engine) as conn:
        user_id, store_id = await accounts.create_user(conn, email, password)
        device_id, token = await accounts.create_device(conn, user_id, "test device")
    return Account(email, password, user_id, store_id, device_id, token)


@pytest.fixture
async def account(engine: AsyncEngine) -> Account:
    return await make_account(engine)


@pytest.fixture
async def other_account(engine: AsyncEngine) -> Account:
    return await make_account(engine)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if (
            "postgres" in getattr(item, "callspec", None).params.get("db_url", "")
            if hasattr(item, "callspec")
            else False
        ):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def repo_root() -> Iterator[Path]:
    yield Path(__file__).resolve().parent.parent


@pytest.fixture
async def store(engine: AsyncEngine):
    """A fresh store on each SQL engine, pushed to directly through the sync engine."""
    from tests.synckit import SqlStore

    acct = await make_account(engine)
    return SqlStore(engine, acct.store_id, acct.device_id)


# ----- browser tests: a live server process and Debian's Chromium ------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    work = tmp_path_factory.mktemp("e2e")
    live = LiveServer(work / "grapevine.db", work / "server.log")
    try:
        live.wait_healthy()
        yield live
    finally:
        live.stop()


@pytest.fixture
def user(server: LiveServer) -> User:
    return server.add_user()


@pytest.fixture(scope="module")
def pw() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed at {CHROMIUM}")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(pw: Playwright) -> Iterator[Browser]:
    browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def _context(browser: Browser, **options) -> Iterator[BrowserContext]:
    context = browser.new_context(**options, service_workers="allow")
    context.set_default_timeout(SYNC_TIMEOUT_MS)
    errors: list[str] = []
    context.on("weberror", lambda e: errors.append(str(e.error)))
    yield context
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def phone(pw: Playwright, browser: Browser) -> Iterator[BrowserContext]:
    yield from _context(browser, **pw.devices["Pixel 7"])


@pytest.fixture
def desktop(browser: Browser) -> Iterator[BrowserContext]:
    yield from _context(browser, viewport={"width": 1280, "height": 800})
