from litestar.testing import AsyncTestClient

from server.app import create_app
from server.settings import Settings
from tests.conftest import WEB_DIR


async def test_health_answers_on_each_engine(client, engine):
    response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": engine.dialect.name}


async def test_a_server_on_postgresql_has_its_connections_open_before_the_first_request(
    postgres_url,
):
    """The pool is opened at start (server.database.warm): the first pushes after a start
    or a deploy do not each wait for PostgreSQL to start a backend for them."""
    app = create_app(Settings(database_url=postgres_url, web_dir=WEB_DIR))
    async with AsyncTestClient(app=app):
        pool = app.state.engine.sync_engine.pool
        assert pool.checkedin() >= 4
        assert pool.checkedout() == 0
