"""A record as the merge engine holds it in memory, with the metadata merges need."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# meta keys: per-field stamps, per-element stamps of set fields, the delete stamp.
FIELD_STAMPS = "f"  # {field: [hlc, client_id, version]}
ELEMENT_STAMPS = "e"  # {field: {element: [hlc, present 0|1, version, client_id]}}
DELETE_STAMP = "d"  # [hlc, client_id, version]
MERGED_INTO = "merged_into"  # in fields of a tombstone left by `merge`


@dataclass(slots=True)
class Record:
    entity: str
    id: str
    version: int = 0
    deleted: bool = False
    fields: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    stored: bool = False
    """Whether storage has a row for it (insert or update)."""
    dirty: bool = False

    @property
    def merged_into(self) -> str | None:
        return self.fields.get(MERGED_INTO) if self.deleted else None

    def field_stamp(self, name: str) -> list[Any] | None:
        return self.meta.get(FIELD_STAMPS, {}).get(name)

    def element_stamps(self, name: str) -> dict[str, list[Any]]:
        return self.meta.setdefault(ELEMENT_STAMPS, {}).setdefault(name, {})

    def stamps(self) -> list[tuple[str, str, int]]:
        """Every (hlc, client, version) recorded on this record: what a delete must have seen."""
        out = [(s[0], s[1], s[2]) for s in self.meta.get(FIELD_STAMPS, {}).values()]
        for elements in self.meta.get(ELEMENT_STAMPS, {}).values():
            out.extend((s[0], s[3], s[2]) for s in elements.values())
        return out
