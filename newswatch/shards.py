"""Which shard a source belongs to: `--shard I/N` takes the sources whose name hashes to shard I.

The hash is SHA-256 of the UTF-8 name (never Python's salted `hash()`), so every machine, every
process and every Python version puts a source in the same shard. Shards are numbered 1..N.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from newswatch.errors import UsageError

_FORM = re.compile(r"\s*([0-9]{1,6})\s*/\s*([0-9]{1,6})\s*")


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def takes(self, name: str) -> bool:
        return shard_of(name, self.count) == self.index


def shard_of(name: str, count: int) -> int:
    """The shard (1..count) of a source name: stable across machines and processes."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def parse_shard(text: str | Shard | None) -> Shard | None:
    """`"I/N"` with 1 <= I <= N as a Shard; None for no sharding; anything else a usage error."""
    if text is None or isinstance(text, Shard):
        return text
    found = _FORM.fullmatch(text)
    if not found:
        raise UsageError(f"--shard {text!r}: expected I/N, e.g. 1/2 (shard I of N, 1 <= I <= N)")
    index, count = int(found.group(1)), int(found.group(2))
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"--shard {text}: shard I of N needs 1 <= I <= N and N >= 1")
    return Shard(index, count)
