"""The `grapevine` command: serve, migrate, and manage users, devices and stores."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from server import accounts, remote
from server.database import create_engine, migrate, normalize_url, write_transaction


def _database_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        metavar="URL",
        help="SQLAlchemy URL, postgresql:// URL or SQLite file path "
        "(default: $GRAPEVINE_DATABASE_URL or ~/.local/share/grapevine/grapevine.db)",
    )


def _json_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grapevine", description="Grapevine: informational networking, offline first."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the sync server and the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL)")
    serve.add_argument("--demo", action="store_true", help="load the demo network if empty")
    _database_arg(serve)

    mig = commands.add_parser("migrate", help="apply pending database migrations")
    _database_arg(mig)

    user = commands.add_parser("user", help="manage users").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    user_add = user.add_parser("add", help="a user with a personal store and a device token")
    user_add.add_argument("--email", required=True)
    user_add.add_argument("--password", help="lets the user sign in from the web app")
    user_add.add_argument("--device-name", default="CLI")
    _database_arg(user_add)
    _json_arg(user_add)
    user_pw = user.add_parser("password", help="set a user's password (asks for it)")
    user_pw.add_argument("--email", required=True)
    _database_arg(user_pw)

    device = commands.add_parser("device", help="manage devices").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    device_add = device.add_parser("add", help="a new device token for a user")
    device_add.add_argument("--email", required=True)
    device_add.add_argument("--name", required=True)
    _database_arg(device_add)
    _json_arg(device_add)

    store = commands.add_parser("store", help="manage stores").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    store_add = store.add_parser("add", help="a new store owned by a user")
    store_add.add_argument("--email", required=True, help="the owner")
    store_add.add_argument("--name", required=True)
    _database_arg(store_add)
    _json_arg(store_add)
    store_share = store.add_parser("share", help="give another user a role in a store")
    store_share.add_argument("store", metavar="STORE", help="the store id")
    store_share.add_argument("--email", required=True, help="the other user")
    store_share.add_argument("--role", required=True, choices=accounts.ROLES)
    _database_arg(store_share)
    _json_arg(store_share)
    store_list = store.add_parser("list", help="a user's stores")
    store_list.add_argument("--email", required=True)
    _database_arg(store_list)
    _json_arg(store_list)
    _exchange_parsers(commands)
    remote.add_parser(commands)
    return parser


def _exchange_parsers(commands: Any) -> None:
    """import, export and restore (server/importers.py, server/exporters.py)."""
    from server.importers import FORMATS

    imp = commands.add_parser("import", help="bring people in from LinkedIn, vCard or CSV")
    imp.add_argument("format", choices=FORMATS, metavar="FORMAT", help=" | ".join(FORMATS))
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--email", required=True, help="whose store")
    imp.add_argument("--store", help="store id (default: the user's own store)")
    imp.add_argument("--dry-run", action="store_true", help="say what would change; write nothing")
    _database_arg(imp)
    _json_arg(imp)

    from server.exporters import CSV_TABLES

    exp = commands.add_parser("export", help="a store as CSV, vCard 4.0 or a JSON backup")
    exp.add_argument("format", choices=("csv", "vcard", "json"), metavar="FORMAT")
    exp.add_argument("--email", required=True, help="whose store")
    exp.add_argument("--store", help="store id (default: the user's own store)")
    exp.add_argument("--table", choices=CSV_TABLES, default="people", help="for csv")
    exp.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    _database_arg(exp)

    res = commands.add_parser("restore", help="load a JSON backup into a new store")
    res.add_argument("file", metavar="FILE")
    res.add_argument("--email", required=True, help="who will own the new store")
    res.add_argument("--name", help="the new store's name (default: as in the backup)")
    _database_arg(res)
    _json_arg(res)


def _run(url: str | None, work: Callable[[Any], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Migrate, then run `work` in one write transaction."""

    async def go() -> dict[str, Any]:
        engine = create_engine(url)
        try:
            await migrate(engine)
            async with write_transaction(engine) as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def _user_id(conn: Any, email: str) -> str:
    user = await accounts.user_by_email(conn, email)
    if user is None:
        raise accounts.AccountError(f"no user with email {accounts.normalize_email(email)}", 404)
    return user.id


def _print(args: argparse.Namespace, result: dict[str, Any], human: str) -> None:
    print(json.dumps(result) if getattr(args, "json", False) else human)


def cmd_user_add(args: argparse.Namespace) -> None:
    async def work(conn: Any) -> dict[str, Any]:
        user_id, store_id = await accounts.create_user(conn, args.email, args.password)
        device_id, token = await accounts.create_device(conn, user_id, args.device_name)
        return {"user_id": user_id, "store_id": store_id, "device_id": device_id, "token": token}

    r = _run(args.database, work)
    _print(args, r, f"user {r['user_id']}\nstore {r['store_id']}\ndevice token {r['token']}")


def cmd_user_password(args: argparse.Namespace) -> None:
    password = getpass.getpass("New password: ")

    async def work(conn: Any) -> dict[str, Any]:
        await accounts.set_password(conn, await _user_id(conn, args.email), password)
        return {}

    _run(args.database, work)
    print("password set")


def cmd_device_add(args: argparse.Namespace) -> None:
    async def work(conn: Any) -> dict[str, Any]:
        user_id = await _user_id(conn, args.email)
        device_id, token = await accounts.create_device(conn, user_id, args.name)
        stores = await accounts.stores_of(conn, user_id)
        store_id = next((s["id"] for s in stores if s["role"] == "owner"), None)
        return {"user_id": user_id, "store_id": store_id, "device_id": device_id, "token": token}

    r = _run(args.database, work)
    _print(args, r, f"device token {r['token']}")


def cmd_store_add(args: argparse.Namespace) -> None:
    async def work(conn: Any) -> dict[str, Any]:
        user_id = await _user_id(conn, args.email)
        return {
            "user_id": user_id,
            "store_id": await accounts.create_store(conn, user_id, args.name),
        }

    r = _run(args.database, work)
    _print(args, r, f"store {r['store_id']}")


def cmd_store_share(args: argparse.Namespace) -> None:
    async def work(conn: Any) -> dict[str, Any]:
        user_id = await accounts.share_store(conn, args.store, args.email, args.role)
        return {"user_id": user_id, "store_id": args.store, "role": args.role}

    r = _run(args.database, work)
    _print(args, r, f"{args.email} is now {args.role} of store {args.store}")


def cmd_store_list(args: argparse.Namespace) -> None:
    async def work(conn: Any) -> dict[str, Any]:
        user_id = await _user_id(conn, args.email)
        return {"user_id": user_id, "stores": await accounts.stores_of(conn, user_id)}

    r = _run(args.database, work)
    _print(args, r, "\n".join(f"{s['id']}  {s['role']:<6}  {s['name']}" for s in r["stores"]))


async def _writable_store(
    conn: Any, email: str, store_id: str | None, *, read_only: bool = False
) -> tuple[str, str]:
    """(user_id, store_id): the named store if the user may write to it, else their own."""
    user_id = await _user_id(conn, email)
    stores = await accounts.stores_of(conn, user_id)
    if store_id is None:
        owned = [s for s in stores if s["role"] == "owner"]
        if not owned:
            raise accounts.AccountError(f"{email} owns no store: name one with --store", 404)
        return user_id, owned[0]["id"]
    role = next((s["role"] for s in stores if s["id"] == store_id), None)
    if role is None:
        raise accounts.AccountError(f"{email} is not a member of store {store_id}", 404)
    if role == "viewer" and not read_only:
        raise accounts.AccountError(f"{email} can only read store {store_id}", 403)
    return user_id, store_id


def cmd_import(args: argparse.Namespace) -> None:
    from pathlib import Path

    from server import importers

    data = Path(args.file).read_bytes()

    async def go() -> dict[str, Any]:
        engine = create_engine(args.database)
        try:
            await migrate(engine)
            async with engine.connect() as conn:
                user_id, store_id = await _writable_store(conn, args.email, args.store)
            summary = await importers.import_file(
                engine, store_id, user_id, args.format, data, dry_run=args.dry_run
            )
            return {"store_id": store_id, "dry_run": args.dry_run, **summary}
        finally:
            await engine.dispose()

    r = asyncio.run(go())
    people, orgs = r["people"], r["organizations"]
    lines = [
        f"{'would import' if args.dry_run else 'imported'} into store {r['store_id']}:",
        f"people: {people['created']} created, {people['updated']} updated, "
        f"{people['skipped']} unchanged",
        f"organizations: {orgs['created']} created, {orgs['matched']} matched",
    ]
    lines += [f"refused {x['row']}: {x['reason']}" for x in r["refused"]]
    lines += [f"rejected {x['mutation']} {x['id']}: {x['error']}" for x in r.get("rejected", [])]
    _print(args, r, "\n".join(lines))


def cmd_export(args: argparse.Namespace) -> None:
    from pathlib import Path

    from server import exporters

    async def go() -> bytes:
        engine = create_engine(args.database)
        try:
            await migrate(engine)
            async with engine.connect() as conn:
                _, store_id = await _writable_store(conn, args.email, args.store, read_only=True)
                return await exporters.export(conn, store_id, args.format, args.table)
        finally:
            await engine.dispose()

    data = asyncio.run(go())
    if args.output:
        Path(args.output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def cmd_restore(args: argparse.Namespace) -> None:
    from pathlib import Path

    from server import exporters

    data = Path(args.file).read_bytes()

    async def go() -> dict[str, Any]:
        engine = create_engine(args.database)
        try:
            await migrate(engine)
            async with engine.connect() as conn:
                user_id = await _user_id(conn, args.email)
            return await exporters.restore(engine, user_id, data, args.name)
        finally:
            await engine.dispose()

    r = asyncio.run(go())
    _print(
        args, r, f"restored {r['records']} records into a new store {r['store_id']} ({r['name']})"
    )


def cmd_migrate(args: argparse.Namespace) -> None:
    async def go() -> None:
        engine = create_engine(args.database)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(go())
    print("database is up to date")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    url = normalize_url(args.database)
    # Workers read their settings from the environment; migrate once before they start.
    os.environ["GRAPEVINE_DATABASE_URL"] = url
    asyncio.run(_prepare(url, args.demo))
    print(f"Grapevine on http://{args.host}:{args.port} (database: {_redacted(url)})", flush=True)
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        proxy_headers=False,
        # Live event streams are closed as soon as the exit signal comes (server/live.py);
        # whatever else still runs gets a few seconds, then is cancelled.
        timeout_graceful_shutdown=3,
    )


async def _prepare(url: str, demo: bool) -> None:
    """Migrate (and load the demo) once, before any worker starts."""
    from server.demo import DEMO_EMAIL, ensure_demo

    engine = create_engine(url)
    try:
        await migrate(engine)
        if demo and await ensure_demo(engine) is None:
            print(
                f"Demo: the database has users already. To sign in as {DEMO_EMAIL}, set its "
                f"password with: grapevine user password --email {DEMO_EMAIL} --database {url}",
                flush=True,
            )
    finally:
        await engine.dispose()


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


COMMANDS: dict[tuple[str, str | None], Callable[[argparse.Namespace], None]] = {
    ("serve", None): cmd_serve,
    ("migrate", None): cmd_migrate,
    ("user", "add"): cmd_user_add,
    ("user", "password"): cmd_user_password,
    ("device", "add"): cmd_device_add,
    ("store", "add"): cmd_store_add,
    ("store", "share"): cmd_store_share,
    ("store", "list"): cmd_store_list,
    ("import", None): cmd_import,
    ("export", None): cmd_export,
    ("restore", None): cmd_restore,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    key = (args.command, getattr(args, "action", None))
    if key in remote.COMMANDS:
        return remote.run(remote.COMMANDS[key], args)
    try:
        COMMANDS[(args.command, getattr(args, "action", None))](args)
    except accounts.AccountError as exc:
        print(f"grapevine: {exc}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as exc:
        print(f"grapevine: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
