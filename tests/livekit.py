"""Test helpers for live event streams: an app served by uvicorn in the test's event loop (the
in-process test client buffers whole responses, which a stream never finishes) and a reader
of Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from litestar import Litestar

from server.app import create_app
from server.live import Hub
from server.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


APPS: dict[str, Litestar] = {}


def hub_of(url: str) -> Hub:
    """The live hub of the app served at `url`."""
    return APPS[url].state.live


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[str]:
    """The app on a free loopback port for the duration; yields its base URL."""
    port = free_port()
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        await task
    assert server.started, "uvicorn did not start"
    url = f"http://127.0.0.1:{port}"
    APPS[url] = app
    try:
        yield url
    finally:
        APPS.pop(url, None)
        server.should_exit = True
        await asyncio.wait_for(task, 15)


@dataclass
class Event:
    event: str
    data: Any


class EventStream:
    """One open `GET …/events`, read event by event."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()
        self.worker = response.headers.get("x-grapevine-worker")

    async def next(self, wait_s: float = 5.0) -> Event:
        """The next event (heartbeats included), as EventSource dispatches them: comments
        and events without data are never seen. Raises TimeoutError if none comes in time,
        and EOFError when the server ended the stream."""
        async with asyncio.timeout(wait_s):
            event, data = "message", []
            while True:
                try:
                    line = await anext(self.lines)
                except StopAsyncIteration:
                    raise EOFError("the stream ended") from None
                if line == "":
                    if data:
                        return Event(event, json.loads("\n".join(data)))
                    event = "message"
                    continue
                if line.startswith(":"):
                    continue
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())

    async def next_event(self, wait_s: float = 5.0) -> Event:
        """The next event that is not a heartbeat."""
        async with asyncio.timeout(wait_s):
            while True:
                event = await self.next(wait_s)
                if event.event != "heartbeat":
                    return event


@asynccontextmanager
async def open_stream(
    http: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[EventStream]:
    async with http.stream("GET", url, headers=headers or {}) as response:
        assert response.status_code == 200, (response.status_code, await response.aread())
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventStream(response)


async def ticket(
    http: httpx.AsyncClient, base: str, store_id: str, token: str, client_id: str | None = None
) -> dict[str, Any]:
    body = {} if client_id is None else {"client_id": client_id}
    response = await http.post(
        f"{base}/api/stores/{store_id}/events/ticket",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    return response.json()
