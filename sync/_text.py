"""Three-way merge of text fields, line by line (diff3 semantics)."""

from __future__ import annotations

from merge3 import Merge3


def merge_text(base: str, ours: str, theirs: str) -> str | None:
    """Both sides' edits of `base`, or None when they touch the same or adjacent lines."""
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    merger = Merge3(
        base.splitlines(keepends=True),
        ours.splitlines(keepends=True),
        theirs.splitlines(keepends=True),
    )
    merged: list[str] = []
    for group in merger.merge_groups():
        kind = group[0]
        if kind == "conflict":
            return None
        merged.extend(group[1])
    text = "".join(merged)
    return text
