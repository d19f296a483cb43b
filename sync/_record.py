"""A record as the merge engine holds it in memory, with the metadata merges need."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# meta keys: per-field stamps, per-element stamps of set fields, the delete stamp.
FIELD_STAMPS = "f"  # {field: [hlc, client_id, version]}
ELEMENT_STAMPS = "e"  # {field: {element: [hlc, present 0|1, version, client_id]}}
SET_CLEARED = "k"  # {field: hlc of the last whole-set write: older elements are out}
DELETE_STAMP = "d"  # [hlc, client_id, version]
MERGE_FLOOR = "mf"  # {field: hlc of a merge that kept the survivor's value over a duplicate's}
EDITORS = "x"  # {client_id: record version as of that client's latest edit}
MERGED_INTO = "merged_into"  # in fields of a tombstone left by `merge`


@dataclass(slots=True)
class Record:
    entity: str
    id: str
    version: int = 0
    deleted: bool = False
    fields: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    dirty: bool = False

    @property
    def merged_into(self) -> str | None:
        return self.fields.get(MERGED_INTO) if self.deleted else None

    def field_stamp(self, name: str) -> list[Any] | None:
        return self.meta.get(FIELD_STAMPS, {}).get(name)

    def element_stamps(self, name: str) -> dict[str, list[Any]]:
        return self.meta.setdefault(ELEMENT_STAMPS, {}).setdefault(name, {})

    def touched_by(self, client_id: str) -> None:
        """Note that a client edited (or tried to edit) the record as of its version now."""
        self.meta.setdefault(EDITORS, {})[client_id] = self.version
        self.dirty = True

    def edited_since(self, base: int, other_than: str) -> bool:
        """Whether a client other than `other_than` edited it after version `base`.

        Edits that changed nothing count too: whether they did depends on arrival order,
        and what a delete must have seen must not.
        """
        return any(v > base for c, v in self.meta.get(EDITORS, {}).items() if c != other_than)
