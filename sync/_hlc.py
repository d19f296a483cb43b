"""Hybrid logical clocks: `<ms since epoch, 13 digits>-<counter, 4 hex digits>-<client_id>`.

Stamps compare as strings: the fixed-width time and counter order them, the client id breaks ties.
"""

from __future__ import annotations

import re
import time

from sync._protocol import excerpt

MAX_DRIFT_MS = 60_000  # a stamp further ahead of the server's clock is replaced
_MAX_COUNTER = 0xFFFF
# ASCII digits only (`\d` would take Arabic-Indic or fullwidth ones, which sort above every
# real stamp), and nothing after the client_id (`$` would allow a trailing newline).
HLC_PATTERN = re.compile(r"([0-9]{13})-([0-9a-f]{4})-(.+)", re.ASCII)


class HLCError(ValueError):
    pass


def format_hlc(ms: int, counter: int, node: str) -> str:
    return f"{ms:013d}-{counter:04x}-{node}"


def parse_hlc(stamp: str) -> tuple[int, int, str]:
    match = HLC_PATTERN.fullmatch(stamp)
    if match is None:
        raise HLCError(f"hlc {excerpt(stamp)} is not <13-digit ms>-<4 hex digits>-<client_id>")
    return int(match[1]), int(match[2], 16), match[3]


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class HLC:
    """A clock that never goes backwards and moves past every stamp it has seen."""

    def __init__(self, node: str, now: callable = wall_ms) -> None:  # type: ignore[valid-type]
        self.node = node
        self._now = now
        self.ms = 0
        self.counter = 0

    def tick(self) -> str:
        """A new stamp, later than any this clock has issued or observed."""
        now = self._now()
        if now > self.ms:
            self.ms, self.counter = now, 0
        elif self.counter < _MAX_COUNTER:
            self.counter += 1
        else:  # the counter is spent for this millisecond: borrow the next one
            self.ms, self.counter = self.ms + 1, 0
        return format_hlc(self.ms, self.counter, self.node)

    def observe(self, stamp: str) -> None:
        """Move past a stamp seen from elsewhere (never past the drift limit)."""
        ms, counter, _ = parse_hlc(stamp)
        self._observe(ms, counter)

    def _observe(self, ms: int, counter: int) -> bool:
        if ms > self._now() + MAX_DRIFT_MS:
            return False
        if ms > self.ms or (ms == self.ms and counter > self.counter):
            self.ms, self.counter = ms, counter
        return True

    def accept(self, stamp: str, node: str | None = None) -> str:
        """A client's stamp as the server records it: clamped when too far ahead, else as is.

        With `node`, the stamp must also name that client (HLCError otherwise).
        """
        match = HLC_PATTERN.fullmatch(stamp)
        if match is None:
            parse_hlc(stamp)  # raises HLCError, naming the stamp
        stamp_node = match[3]
        if node is not None and stamp_node != node:
            raise HLCError(f"hlc {excerpt(stamp)} must end with this push's client_id")
        if self._observe(int(match[1]), int(match[2], 16)):
            return stamp
        self.tick()
        return format_hlc(self.ms, self.counter, stamp_node)
