"""Search bytes for many strings at once: the `Needle`s and the Aho-Corasick `PhiScanner`."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import ahocorasick

CHUNK = 8 << 20  # bytes read at a time from a file searched whole
SHORTEST = 4  # bytes; shorter strings match by chance everywhere


@dataclass(frozen=True)
class Needle:
    """One string to search for: ``text`` lower-cased ASCII bytes, ``kind``
    says what it is (written to results/ instead of the value), ``boundary``
    is "" (anywhere), "digits" (no digit before or after) or "word" (no
    letter or digit before or after)."""

    text: bytes
    kind: str
    boundary: str = ""


class PhiScanner:
    """Search bytes for many strings at once, ASCII case-insensitively.

    pyahocorasick's automaton over the bytes decoded as Latin-1 (one
    character per byte, so a match's index is its byte offset); the
    boundary rules of each `Needle` are checked on the bytes around a match.
    """

    def __init__(self, needles: Iterable[Needle]):
        self.needles = list(needles)
        short = [n.kind for n in self.needles if len(n.text) < SHORTEST]
        if short:
            raise ValueError(
                f"every needle must be at least {SHORTEST} bytes long; {len(short)} of kind "
                f"{short[0]!r} and others are shorter"
            )
        self.longest = max((len(n.text) for n in self.needles), default=SHORTEST)
        by_text: dict[bytes, list[Needle]] = defaultdict(list)
        for n in self.needles:
            by_text[n.text].append(n)
        self.automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        for text, group in by_text.items():
            self.automaton.add_word(text.decode("latin-1"), tuple(group))
        if by_text:
            self.automaton.make_automaton()

    def scan(self, data: bytes | memoryview) -> list[tuple[int, Needle]]:
        """(offset, needle) of every match in `data`, by offset."""
        return self._scan_piece(bytes(data), 0, len(data))

    def scan_stream(self, handle, *, chunk: int | None = None) -> Iterator[tuple[int, Needle]]:
        """Like `scan`, reading a binary file object chunk by chunk (bounded memory)."""
        chunk = chunk or CHUNK
        keep = self.longest + 1  # a match and the byte after it
        buffer, origin, first = b"", 0, 0  # origin: file offset of buffer[0]; first: next start to decide
        while True:
            block = handle.read(chunk)
            buffer += block
            end = len(buffer) if not block else len(buffer) - keep  # starts that can be decided now
            if end > first:
                for at, needle in self._scan_piece(buffer, first, end - first):
                    yield origin + at, needle
                buffer, origin, first = buffer[end - 1 :], origin + end - 1, 1  # keep one byte before
            if not block:
                return

    def _scan_piece(self, piece: bytes, begin: int, count: int) -> list[tuple[int, Needle]]:
        """Matches starting at piece[begin:begin + count]; bytes around are context."""
        if count <= 0 or not self.needles:
            return []
        text = piece.lower()  # bytes.lower() folds ASCII letters only, as the collector does
        found = []
        for last, group in self.automaton.iter(text.decode("latin-1")):
            at = last + 1 - len(group[0].text)
            if begin <= at < begin + count:
                found += [(at, n) for n in group if _matches(text, at, n)]
        found.sort(key=lambda item: item[0])
        return found


def _matches(text: bytes, at: int, needle: Needle) -> bool:
    end = at + len(needle.text)
    if text[at:end] != needle.text:
        return False
    if not needle.boundary:
        return True
    before = text[at - 1 : at] if at else b""
    after = text[end : end + 1]
    if needle.boundary == "digits":
        return not (before.isdigit() or after.isdigit())
    return not (before.isalnum() or after.isalnum())


def needles_scanners(needles: Iterable):
    """(exact, squeezed) PhiScanners over `needles` (alnus.phi_audit.collect_phi):
    as the byte search has them, and with spaces removed and no boundary
    rule (the engine drops spaces between words)."""
    needles = list(needles)
    squeezed = {Needle(re.sub(rb"\s+", b"", n.text), n.kind) for n in needles}
    return PhiScanner(needles), PhiScanner(n for n in squeezed if len(n.text) >= SHORTEST)
