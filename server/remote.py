"""`grapevine remote …`: the desktop companion, a sync client with a local replica.

The replica lives in the user's data directory (`$XDG_DATA_HOME/grapevine/companion.sqlite3`,
by default `~/.local/share/grapevine/`), or where `--replica` says. Capturing works offline:
`log` queues, `push` sends later, `pull` brings the others' edits and refreshes the vault.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sync
from sync._schema import CONVERSATION_KINDS


def replica_path(explicit: str | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "grapevine" / "companion.sqlite3"


def add_parser(commands: Any) -> None:
    """Register `grapevine remote ACTION …` on the top-level subparsers."""
    remote = commands.add_parser(
        "remote", help="the desktop companion: sync a local replica, capture, keep a vault"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, help: str) -> argparse.ArgumentParser:
        p = remote.add_parser(name, help=help)
        p.add_argument(
            "--replica",
            metavar="FILE",
            help="the replica file (default: $XDG_DATA_HOME/grapevine/companion.sqlite3)",
        )
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        return p

    login = action("login", "sign in to a server as a new device of this account")
    login.add_argument("url", metavar="URL")
    login.add_argument("--email", required=True)
    login.add_argument("--password", help="asked for when not given")
    login.add_argument("--store", help="a store id or name (default: your own store)")
    pair = action("pair", "join with a one-time code from Settings → Add a device")
    pair.add_argument("url", metavar="URL")
    pair.add_argument("code", metavar="CODE")
    pair.add_argument("--store", help="a store id or name (default: your own store)")
    action("pull", "pull what changed on the server (and refresh the vault)")
    action("push", "send the edits waiting here")
    action("sync", "push, then pull")
    action("status", "pending edits, refused edits, last sync, server")
    action("logout", "sign this device out (unsynced edits are kept)")
    log = action("log", "capture a conversation (works offline: it is queued)")
    log.add_argument("text", metavar="TEXT", help="what you talked about")
    log.add_argument(
        "--person",
        required=True,
        help='a name (matched, or a new person); "Name, role" gives a new person a title',
    )
    log.add_argument("--org", help="their organization (matched, or a new one)")
    log.add_argument(
        "--kind", choices=CONVERSATION_KINDS, help="default: lunch with --place, else other"
    )
    log.add_argument("--place", help="where you met")
    log.add_argument(
        "--at", help="when (ISO 8601; default: now); a time still to come schedules it"
    )
    log.add_argument(
        "--referral",
        action="append",
        default=[],
        metavar="NAME",
        help='someone they suggested you talk to, "Name" or "Name, role" (repeatable)',
    )
    vault = action("vault", "keep a Markdown folder of your network, refreshed on each pull")
    vault.add_argument("dir", metavar="DIR")
    vault.add_argument("--stop", action="store_true", help="stop refreshing this folder")


def _out(args: argparse.Namespace, result: dict[str, Any], lines: list[str]) -> None:
    if args.json:
        print(json.dumps(result, default=str))
    else:
        for line in lines:
            print(line)


def _client(args: argparse.Namespace) -> sync.SyncClient:
    # A terminal wants an answer soon: two retries (0.5 s, 1 s) before saying "offline".
    return sync.SyncClient(sync.Replica(replica_path(args.replica)), retries=2)


def _vault_lines(replica: sync.Replica) -> tuple[list[dict[str, Any]], list[str]]:
    """Refresh every registered vault from the replica's view."""
    results: list[dict[str, Any]] = []
    lines: list[str] = []
    dirs = replica.get("vaults", [])
    records = replica.records() if dirs else {}
    for folder in dirs:
        report = sync.Vault(folder).write(records)
        results.append({"dir": folder, **report.__dict__})
        lines += _vault_report(folder, report)
    return results, lines


def _vault_report(folder: str, report: sync.VaultReport) -> list[str]:
    changed = len(report.written) + len(report.removed)
    lines = [f"Vault {folder}: {_plural(changed, 'file')} updated, {report.unchanged} unchanged"]
    for path, beside in report.kept:
        if beside:
            lines.append(
                f"  {path} was changed by you since Grapevine wrote it: left as it is; "
                f"Grapevine's new version is beside it, in {beside}"
            )
        else:
            lines.append(f"  {path} and the file beside it were changed by you: not written")
    for path in report.orphaned:
        lines.append(f"  {path} was changed by you and its record is gone: left as it is")
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _waiting_line(replica: sync.Replica) -> str:
    n = replica.waiting()
    return f"{_plural(n, 'edit')} waiting to be pushed" if n else "No edits waiting"


def cmd_login(args: argparse.Namespace) -> None:
    password = args.password
    if password is None:
        password = getpass.getpass(f"Password for {args.email}: ")
    with _client(args) as client:
        session, carried = client.login(args.url, args.email, password, store=args.store)
        _signed_in(args, client, session, carried)


def cmd_pair(args: argparse.Namespace) -> None:
    with _client(args) as client:
        session, carried = client.pair(args.url, args.code, store=args.store)
        _signed_in(args, client, session, carried)


def _signed_in(
    args: argparse.Namespace, client: sync.SyncClient, session: sync.Session, carried: int
) -> None:
    result = {
        "server": session.server,
        "user_id": session.user_id,
        "device_id": session.device_id,
        "store_id": session.store_id,
        "store_name": session.store_name,
        "role": session.role,
        "client_id": client.replica.client_id,
        "carried_over": carried,
        "replica": str(client.replica.path),
    }
    lines = [
        f"Signed in to {session.server}, store {session.store_name!r} ({session.role}).",
        f"Replica: {client.replica.path}",
    ]
    if carried:
        lines.append(f"{_plural(carried, 'unsynced edit')} from before carried over.")
    lines.append("Next: `grapevine remote pull` fetches your network.")
    _out(args, result, lines)


def _push_lines(report: sync.PushReport) -> list[str]:
    lines = []
    if report.sent:
        lines.append(
            f"Pushed {_plural(report.sent, 'edit')}: {report.applied} applied, "
            f"{report.duplicate} already there"
            + (f", {len(report.rejected)} refused" if report.rejected else "")
            + "."
        )
    for mutation, error in report.rejected:
        lines.append(f"  Refused #{mutation.get('id')} {_describe(mutation)}: {error}")
    if report.refused:
        lines.append(f"The server refuses this device's edits: {report.refused}")
        lines.append("They are kept aside: `grapevine remote status` lists them.")
    if not report.sent and not report.refused:
        lines.append("Nothing to push.")
    return lines


def _describe(mutation: dict[str, Any], records: dict[str, Any] | None = None) -> str:
    """One line for a mutation: what it changes, named the way the user knows it."""
    args = mutation.get("args") or {}
    name = mutation.get("name", "?")
    records = records or {}
    fields = {**(records.get(args.get("id")) or {}).get("fields", {}), **(args.get("fields") or {})}
    about = (records.get(fields.get("person_id")) or {}).get("fields", {}).get("name")
    if fields.get("name"):
        what = f"{args.get('entity')} {fields['name']!r}"
    elif about:
        what = f"{args.get('entity')} with {about!r}"
    else:
        what = f"{args.get('entity')} {args.get('id')}"
    if name == "set":
        return f"set {what}: {', '.join(sorted((args.get('fields') or {}).keys()))}"
    if name in ("add", "remove"):
        return f"{name} {args.get('value')!r} {'to' if name == 'add' else 'from'} {what}"
    if name == "resolve":
        return f"resolve conflict {args.get('conflict')} ({args.get('choose')})"
    return f"{name} {what}"


def _report_dict(report: Any) -> dict[str, Any] | None:
    if report is None:
        return None
    data = dict(report.__dict__)
    if "changed" in data:
        data["changed"] = sorted(data["changed"])
    if "rejected" in data:
        data["rejected"] = [{"mutation": m, "error": e} for m, e in data["rejected"]]
    return data


def cmd_push(args: argparse.Namespace) -> None:
    with _client(args) as client:
        report = client.push()
        lines = [*_push_lines(report), _waiting_line(client.replica)]
        _out(
            args,
            {"push": _report_dict(report), "waiting": client.replica.waiting()},
            lines,
        )


def _pull_lines(report: sync.PullReport) -> list[str]:
    lines = []
    if report.reset:
        lines.append("The server could not continue from this replica's position: pulled anew.")
    lines.append(f"Pulled {_plural(report.changes, 'change')} in {_plural(report.pages, 'page')}.")
    return lines


def cmd_pull(args: argparse.Namespace) -> None:
    with _client(args) as client:
        report = client.pull()
        vaults, vault_lines = _vault_lines(client.replica)
        _out(
            args,
            {"pull": _report_dict(report), "vaults": vaults, "waiting": client.replica.waiting()},
            [*_pull_lines(report), *vault_lines, _waiting_line(client.replica)],
        )


def cmd_sync(args: argparse.Namespace) -> None:
    with _client(args) as client:
        report = client.sync()
        vaults, vault_lines = _vault_lines(client.replica)
        lines = [*_push_lines(report.push)] if report.push else []
        if report.push_error:
            lines.append(f"Push failed: {report.push_error} (your edits are kept)")
        lines += [*_pull_lines(report.pull), *vault_lines, _waiting_line(client.replica)]
        _out(
            args,
            {
                "push": _report_dict(report.push),
                "push_error": str(report.push_error) if report.push_error else None,
                "pull": _report_dict(report.pull),
                "vaults": vaults,
                "waiting": client.replica.waiting(),
            },
            lines,
        )
    if report.push_error:
        raise report.push_error


def cmd_logout(args: argparse.Namespace) -> None:
    with _client(args) as client:
        client.logout()
        _out(
            args,
            {"signed_in": False, "waiting": client.replica.waiting()},
            ["Signed out.", _waiting_line(client.replica) + " (kept for the next sign-in)."],
        )


def _ago(ms: int, now: int) -> str:
    minutes = max(0, (now - ms) // 60_000)
    when = dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if minutes < 1:
        return f"{when} (just now)"
    if minutes < 120:
        return f"{when} ({_plural(minutes, 'minute')} ago)"
    return f"{when} ({_plural(minutes // 60, 'hour')} ago)"


def cmd_status(args: argparse.Namespace) -> None:
    replica = sync.Replica(replica_path(args.replica))
    with replica:
        session = replica.session
        outbox = replica.outbox()
        pending = [m for m in outbox if not m["acked"]]
        acked = len(outbox) - len(pending)
        refused = replica.refused()
        last_sync = replica.get("last_sync_ms")
        records = replica.records()
        counts = Counter(r["entity"] for r in records.values() if not r["deleted"])
        conflicts = sync.open_conflicts(records)
        result = {
            "signed_in": session is not None,
            "server": session.server if session else (replica.get("owner") or {}).get("server"),
            "store_id": session.store_id if session else None,
            "store_name": session.store_name if session else None,
            "role": session.role if session else None,
            "email": session.email if session else None,
            "client_id": replica.client_id,
            "pending": len(pending),
            "acknowledged": acked,
            "refused": [{"mutation": r.mutation, "error": r.error} for r in refused],
            "last_sync_ms": last_sync,
            "records": dict(counts),
            "open_conflicts": len(conflicts),
            "vaults": replica.get("vaults", []),
            "replica": str(replica.path),
        }
        lines = []
        if session:
            who = f" as {session.email}" if session.email else ""
            lines.append(
                f"Server:   {session.server}{who}, store {session.store_name!r} ({session.role})"
            )
        elif replica.client_id:
            lines.append(
                f"Signed out of {result['server']}: sign in again with `grapevine remote login`"
                " (unsynced edits are kept)."
            )
        else:
            lines.append("Not signed in: `grapevine remote login URL --email E` to start.")
        lines.append(f"Last sync: {_ago(last_sync, replica.now()) if last_sync else 'never'}")
        lines.append(f"Pending:  {_waiting_line(replica)}")
        for m in pending[:20]:
            lines.append(f"  #{m['id']} {_describe(m, records)}")
        if len(pending) > 20:
            lines.append(f"  … and {len(pending) - 20} more")
        if acked:
            lines.append(f"  {_plural(acked, 'edit')} acknowledged, shown until the next pull")
        if refused:
            lines.append(f"Refused:  {_plural(len(refused), 'edit')} the server did not take:")
            for r in refused:
                lines.append(f"  {_describe(r.mutation, records)}: {r.error}")
        people, orgs = counts.get("person", 0), counts.get("organization", 0)
        lines.append(
            f"Records:  {_plural(people, 'person') if people == 1 else f'{people} people'}, "
            f"{_plural(orgs, 'organization')}, "
            f"{_plural(counts.get('conversation', 0), 'conversation')}"
            + (f", {_plural(len(conflicts), 'open conflict')}" if conflicts else "")
        )
        for folder in result["vaults"]:
            lines.append(f"Vault:    {folder}")
        lines.append(f"Replica:  {replica.path}")
        _out(args, result, lines)


def cmd_log(args: argparse.Namespace) -> None:
    replica = sync.Replica(replica_path(args.replica))
    with replica:
        if replica.client_id is None:
            raise sync.SyncError("not signed in: run `grapevine remote login` or `pair` first")
        session = replica.session
        if session and session.role == "viewer":
            raise sync.SyncError(
                f"store {session.store_name!r} is shared with you to read: nothing was saved"
            )
        if args.at:
            _check_at(args.at)
        records = replica.records()
        capture = sync.plan_capture(
            records,
            args.text,
            args.person,
            base=replica.base,
            new_id=replica.new_id,
            now=dt.datetime.fromtimestamp(replica.now() / 1000, dt.UTC),
            organization=args.org,
            kind=args.kind,
            place=args.place,
            at=args.at,
            referrals=args.referral,
        )
        replica.enqueue(capture.mutations)
        vaults, vault_lines = _vault_lines(replica)
        person = replica.records()[capture.person_id]["fields"]  # the queued edits included
        name = person["name"] + (f" ({person['title']})" if person.get("title") else "")
        verb = "Scheduled" if capture.scheduled else "Logged"
        lines = [
            f"{verb} a conversation with {name}"
            + (" (new person)" if capture.new_person else "")
            + (f" for {args.at}" if capture.scheduled else "")
            + "."
        ]
        lines += vault_lines
        lines.append(
            _waiting_line(replica)
            + f": `grapevine remote push` sends {'it' if replica.waiting() == 1 else 'them'}."
        )
        _out(
            args,
            {
                "person_id": capture.person_id,
                "new_person": capture.new_person,
                "scheduled": capture.scheduled,
                "conversation_id": capture.conversation_id,
                "organization_id": capture.organization_id,
                "queued": len(capture.mutations),
                "waiting": replica.waiting(),
                "vaults": vaults,
            },
            lines,
        )


def _check_at(value: str) -> None:
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--at {value!r} is not an ISO 8601 date and time") from None
    if "T" not in value and " " not in value:
        raise ValueError(f"--at {value!r} needs a time too, e.g. {value}T12:30:00Z")


def cmd_vault(args: argparse.Namespace) -> None:
    folder = str(Path(args.dir).expanduser().resolve())
    replica = sync.Replica(replica_path(args.replica))
    with replica:
        dirs = [d for d in replica.get("vaults", []) if d != folder]
        if args.stop:
            replica.put("vaults", dirs)
            _out(args, {"vaults": dirs}, [f"Vault {folder} is no longer refreshed."])
            return
        report = sync.Vault(folder).write(replica.records())
        replica.put("vaults", [*dirs, folder])
        lines = _vault_report(folder, report)
        lines.append("It is refreshed after each `grapevine remote pull`, `sync` and `log`.")
        _out(args, {"dir": folder, **report.__dict__}, lines)


COMMANDS: dict[tuple[str, str | None], Callable[[argparse.Namespace], None]] = {
    ("remote", "login"): cmd_login,
    ("remote", "pair"): cmd_pair,
    ("remote", "pull"): cmd_pull,
    ("remote", "push"): cmd_push,
    ("remote", "sync"): cmd_sync,
    ("remote", "status"): cmd_status,
    ("remote", "logout"): cmd_logout,
    ("remote", "log"): cmd_log,
    ("remote", "vault"): cmd_vault,
}


def run(command: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    """Run a remote command; sync errors become one clear line on stderr."""
    try:
        command(args)
    except sync.Unreachable as exc:
        print(f"grapevine: offline: {exc}. Your edits are kept here.", file=sys.stderr)
        return 1
    except sync.SyncError as exc:
        print(f"grapevine: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"grapevine: {exc}", file=sys.stderr)
        return 2
    return 0
