async def test_health_answers_on_each_engine(client, engine):
    response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": engine.dialect.name}
