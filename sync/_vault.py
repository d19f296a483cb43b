"""A Markdown vault of the network (Obsidian, Logseq, plain files): one file per person and per
organization, with the fields as YAML front matter, conversations as sections, and people,
organizations and referrals as `[[wiki links]]`.

Regeneration is incremental and safe: only files whose content changed are written, and a file
the user edited since Grapevine wrote it is never overwritten. Its new version goes beside it
(`Name.grapevine.md`) and the report says so. `.grapevine/vault.json` remembers the hash of
every file this vault wrote, which is how an edit by the user is recognized.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sync._schema import ENTITIES
from sync._view import live

FOLDERS = {"person": "People", "organization": "Organizations"}
BESIDE = ".grapevine.md"
MANIFEST = Path(".grapevine") / "vault.json"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|\[\]#^]+')
_LINK_FIELDS = {"organization_id": "organization"}
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's when built with it: faster


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stem(name: str) -> str:
    stem = " ".join(_UNSAFE.sub(" ", name).split()).strip(". ")
    return stem[:120] or "Untitled"


@dataclass
class VaultReport:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[tuple[str, str | None]] = field(default_factory=list)
    """(a file the user changed, where Grapevine's new version went: None if nowhere)"""
    orphaned: list[str] = field(default_factory=list)
    """Files the user changed whose record is gone: left alone, no longer tracked."""
    unchanged: int = 0


class Vault:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()

    # ----- rendering ---------------------------------------------------------------------

    def render(self, records: Mapping[str, dict[str, Any]]) -> dict[str, str]:
        """{relative path: Markdown} for every live person and organization."""
        people = sorted(live(records, "person"), key=lambda r: r["id"])
        orgs = sorted(live(records, "organization"), key=lambda r: r["id"])
        stems = self._stems([*orgs, *people])
        by_org: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for p in people:
            if p["fields"].get("organization_id"):
                by_org[p["fields"]["organization_id"]].append(p)
        talks: dict[str, list[dict[str, Any]]] = defaultdict(list)
        org_talks: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for c in live(records, "conversation"):
            talks[c["fields"].get("person_id")].append(c)
            if c["fields"].get("organization_id"):
                org_talks[c["fields"]["organization_id"]].append(c)
        referred_by: dict[str, list[dict[str, Any]]] = defaultdict(list)
        referred_to: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in live(records, "referral"):
            referred_by[r["fields"].get("to_person_id")].append(r)
            referred_to[r["fields"].get("from_person_id")].append(r)
        followups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for f in live(records, "followup"):
            followups[f["fields"].get("person_id") or f["fields"].get("organization_id")].append(f)
        conflicts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for c in live(records, "conflict"):
            if c["fields"].get("status") == "open":
                conflicts[c["fields"].get("record_id")].append(c)

        def link(record_id: str | None) -> str | None:
            record = records.get(record_id) if record_id else None
            if record_id not in stems or record is None:
                return None
            name = record["fields"].get("name") or ""
            stem = stems[record_id]
            return f"[[{stem}]]" if stem == name else f"[[{stem}|{name}]]"

        files: dict[str, str] = {}
        for p in people:
            ctx = _Ctx(link, talks[p["id"]], referred_by[p["id"]], referred_to[p["id"]])
            ctx.followups = followups[p["id"]]
            ctx.conflicts = conflicts[p["id"]]
            files[f"People/{stems[p['id']]}.md"] = _person(p, ctx)
        for o in orgs:
            ctx = _Ctx(link, org_talks[o["id"]], [], [])
            ctx.people = sorted(by_org[o["id"]], key=lambda p: p["fields"].get("name") or "")
            ctx.followups = followups[o["id"]]
            ctx.conflicts = conflicts[o["id"]]
            files[f"Organizations/{stems[o['id']]}.md"] = _organization(o, ctx)
        return files

    @staticmethod
    def _stems(records: list[dict[str, Any]]) -> dict[str, str]:
        """A file name per record, unique across the vault (wiki links resolve by name)."""
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in records:
            groups[_stem(r["fields"].get("name") or "").casefold()].append(r)
        stems = {}
        for group in groups.values():
            if len(group) == 1:
                stems[group[0]["id"]] = _stem(group[0]["fields"].get("name") or "")
                continue
            # Same name: each gets the shortest prefix of its id that tells them apart.
            width = next(
                n for n in (8, 13, 18, 23, 36) if len({r["id"][:n] for r in group}) == len(group)
            )
            for r in group:
                stems[r["id"]] = f"{_stem(r['fields'].get('name') or '')} ({r['id'][:width]})"
        return stems

    # ----- writing -----------------------------------------------------------------------

    def _manifest(self) -> dict[str, str]:
        try:
            return json.loads((self.root / MANIFEST).read_text())["files"]
        except (FileNotFoundError, ValueError, KeyError):
            return {}

    def _save_manifest(self, files: dict[str, str]) -> None:
        _atomic_write(
            self.root / MANIFEST,
            json.dumps({"version": 1, "files": dict(sorted(files.items()))}, indent=1).encode(),
        )

    def write(self, records: Mapping[str, dict[str, Any]]) -> VaultReport:
        """Bring the folder up to date with `records`, never overwriting the user's edits."""
        report = VaultReport()
        desired = self.render(records)
        manifest = self._manifest()
        ours: dict[str, str] = {}
        for path, text in desired.items():
            data = text.encode()
            digest = _hash(data)
            target = self.root / path
            current = _hash(target.read_bytes()) if target.is_file() else None
            if current == digest:
                ours[path] = digest
                report.unchanged += 1
            elif current is None or manifest.get(path) == current:
                _atomic_write(target, data)
                ours[path] = digest
                report.written.append(path)
            else:  # the user changed it, or made it: it stays theirs
                if path in manifest:
                    ours[path] = manifest[path]
                beside = path[: -len(".md")] + BESIDE
                aside = self.root / beside
                aside_now = _hash(aside.read_bytes()) if aside.is_file() else None
                if aside_now == digest:
                    ours[beside] = digest
                elif aside_now is None or aside_now == manifest.get(beside):
                    _atomic_write(aside, data)
                    ours[beside] = digest
                    report.written.append(beside)
                    report.kept.append((path, beside))
                else:  # the user changed the file beside it too: both stay theirs
                    report.kept.append((path, None))
        for path, digest in manifest.items():
            if path in ours:
                continue
            target = self.root / path
            if not target.is_file():
                continue
            if _hash(target.read_bytes()) == digest:
                target.unlink()
                report.removed.append(path)
            else:
                report.orphaned.append(path)
        self._save_manifest(ours)
        return report


@dataclass
class _Ctx:
    link: Any
    conversations: list[dict[str, Any]]
    referred_by: list[dict[str, Any]]
    referred_to: list[dict[str, Any]]
    people: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)


def _front_matter(record: dict[str, Any], ctx: _Ctx) -> str:
    entity = ENTITIES[record["entity"]]
    data: dict[str, Any] = {"grapevine": record["entity"], "id": record["id"]}
    for name, spec in entity.fields.items():
        value = record["fields"].get(name)
        if spec.type == "text" or value is None or value == [] or value == "":
            continue
        if name in _LINK_FIELDS:
            data[_LINK_FIELDS[name]] = ctx.link(value) or value
        else:
            data[name] = value
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{text}---\n"


def _section(title: str, body: str | None) -> str:
    return f"\n## {title}\n\n{body.rstrip()}\n" if body and body.strip() else ""


def _when(conversation: dict[str, Any]) -> str:
    at = conversation["fields"].get("at") or ""
    return at[:16].replace("T", " ") if at else "undated"


def _conversations(ctx: _Ctx, with_person: bool) -> str:
    out = []
    for c in sorted(ctx.conversations, key=lambda c: (c["fields"].get("at") or "", c["id"])):
        f = c["fields"]
        title = " · ".join(x for x in (_when(c), f.get("kind"), f.get("place")) if x)
        if with_person:
            who = ctx.link(f.get("person_id"))
            title += f" · with {who}" if who else ""
        parts = [f"### {title}"]
        if f.get("notes"):
            parts.append(f["notes"].rstrip())
        for label in ("culture", "prospects", "projects"):
            if f.get(label):
                parts.append(f"**{label.capitalize()}:** {f[label].rstrip()}")
        facts = []
        if f.get("duration_min") is not None:
            facts.append(f"{f['duration_min']} min")
        if f.get("fit"):
            facts.append(f"fit: {f['fit']}")
        if f.get("prepared") is not None:
            facts.append(f"prepared: {'yes' if f['prepared'] else 'no'}")
        if f.get("asked_for_referrals") is not None:
            facts.append(f"asked for referrals: {'yes' if f['asked_for_referrals'] else 'no'}")
        if f.get("thanked_at"):
            facts.append(f"thanked: {f['thanked_at']}")
        if facts:
            parts.append(" · ".join(facts))
        out.append("\n\n".join(parts))
    return "\n\n".join(out)


def _followups(ctx: _Ctx) -> str:
    lines = []
    for f in sorted(ctx.followups, key=lambda f: (f["fields"].get("due") or "", f["id"])):
        x = f["fields"]
        box = "x" if x.get("done_at") else " "
        text = " · ".join(v for v in (x.get("due"), x.get("kind"), x.get("note")) if v)
        lines.append(f"- [{box}] {text}")
    return "\n".join(lines)


def _conflicts(ctx: _Ctx) -> str:
    lines = []
    for c in sorted(ctx.conflicts, key=lambda c: c["id"]):
        f = c["fields"]
        if f.get("field") is None:
            lines.append(
                "- deleted on one device while edited on another: kept (resolve it in the app)"
            )
            continue
        lines.append(
            f"- {f['field']}: kept {json.dumps(f.get('kept'))}, lost {json.dumps(f.get('lost'))} "
            "(resolve it in the app)"
        )
    return "\n".join(lines)


def _person(p: dict[str, Any], ctx: _Ctx) -> str:
    f = p["fields"]
    headline = " · ".join(x for x in (f.get("title"), f.get("department")) if x)
    org = ctx.link(f.get("organization_id"))
    if org:
        headline = f"{headline} at {org}" if headline else org
    out = [_front_matter(p, ctx), f"\n# {f.get('name') or 'Untitled'}\n"]
    if headline:
        out.append(f"\n{headline}\n")
    out.append(_section("Notes", f.get("notes")))
    out.append(_section("Conversations", _conversations(ctx, with_person=False)))
    referrals = []
    for r in ctx.referred_by:
        who = ctx.link(r["fields"].get("from_person_id"))
        if who:
            referrals.append(_referral_line(f"Referred by {who}", r))
    for r in ctx.referred_to:
        who = ctx.link(r["fields"].get("to_person_id"))
        if who:
            referrals.append(_referral_line(f"Referred me to {who}", r))
    out.append(_section("Referrals", "\n".join(sorted(referrals))))
    out.append(_section("Follow-ups", _followups(ctx)))
    out.append(_section("Open conflicts", _conflicts(ctx)))
    return "".join(out)


def _referral_line(text: str, referral: dict[str, Any]) -> str:
    f = referral["fields"]
    if f.get("status"):
        text += f" ({f['status']})"
    if f.get("note"):
        text += f": {' '.join(f['note'].split())}"
    return f"- {text}"


def _organization(o: dict[str, Any], ctx: _Ctx) -> str:
    f = o["fields"]
    out = [_front_matter(o, ctx), f"\n# {f.get('name') or 'Untitled'}\n"]
    out.append(_section("Why", f.get("why")))
    out.append(_section("Homework", f.get("homework")))
    people = []
    for p in ctx.people:
        pf = p["fields"]
        facts = " · ".join(x for x in (pf.get("title"), pf.get("stage")) if x)
        people.append(f"- {ctx.link(p['id'])}" + (f" · {facts}" if facts else ""))
    out.append(_section("People", "\n".join(people)))
    out.append(_section("Conversations", _conversations(ctx, with_person=True)))
    out.append(_section("Follow-ups", _followups(ctx)))
    out.append(_section("Open conflicts", _conflicts(ctx)))
    return "".join(out)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
