"""Settings: a plain dataclass read from environment variables (GRAPEVINE_*)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from server.database import normalize_url

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = field(default_factory=lambda: normalize_url(None))
    web_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("GRAPEVINE_WEB_DIR") or WEB_DIR)
    )
    # Load the demo network into a store of a demo user when the database has no users.
    demo: bool = field(default_factory=lambda: os.environ.get("GRAPEVINE_DEMO") == "1")
    migrate: bool = True
    # The address people reach this server at (https://grapevine.example.org): pairing
    # links name it. Unset, they name the browser's own origin (see server.auth.public_base).
    public_url: str = field(default_factory=lambda: os.environ.get("GRAPEVINE_PUBLIC_URL", ""))
    # Live event streams: seconds between heartbeats, between re-reads of the stores'
    # change positions (None: 1 s on SQLite, 10 s on PostgreSQL), between checks that each
    # stream's device is still signed in and a member.
    live_heartbeat_s: float = field(
        default_factory=lambda: float(os.environ.get("GRAPEVINE_LIVE_HEARTBEAT_S") or 15)
    )
    live_watch_s: float | None = field(
        default_factory=lambda: float(os.environ.get("GRAPEVINE_LIVE_WATCH_S") or 0) or None
    )
    live_audit_s: float = 30.0
