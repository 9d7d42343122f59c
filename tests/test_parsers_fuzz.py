"""Mutated fixtures through every document parser: a result or ParseError, never anything else."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from newswatch.errors import ParseError
from parsers.feeds import parse_feed
from parsers.listings import parse_listing
from parsers.pages import parse_page
from parsers.sitemaps import parse_sitemap

FIXTURES = Path(__file__).parent / "fixtures"
MUTANTS = 150
# Fragments that break documents in the ways real ones break: cut markup, stray entities,
# wrong encodings, half-opened sections, hostile attribute values.
TOKENS = (
    b"<", b">", b"&", b"&nbsp;", b"<![CDATA[", b"]]>", b'"', b"</", b"<!--", b"\x00", b"\xff",
    b"\xef\xbb\xbf", b"{", b"}", b"[", b'"version": "https://jsonfeed.org/version/1.1"',
    b'xml:base="::"', b'href="http://[::1"', b"<link>", b'<time datetime="99999-99-99">',
    b"<loc>", b"\x1f\x8b", b'<!DOCTYPE x SYSTEM "file:///etc/passwd">',
)  # fmt: skip


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        pos = rng.randrange(len(out) + 1)
        roll = rng.random()
        if roll < 0.3 and out:
            out[pos % len(out)] = rng.randrange(256)
        elif roll < 0.6:
            out[pos:pos] = rng.choice(TOKENS)
        elif roll < 0.8:
            del out[pos : pos + rng.randint(1, 60)]
        elif roll < 0.9:
            del out[pos:]
        else:
            start = rng.randrange(len(out) + 1)
            out[pos:pos] = out[start : start + rng.randint(1, 200)]
    return bytes(out)


@pytest.mark.parametrize(
    ("folder", "parse"),
    [
        ("feeds", parse_feed),
        ("sitemaps", parse_sitemap),
        ("listings", parse_listing),
        ("pages", parse_page),
    ],
)
def test_mutated_documents(folder: str, parse: Callable[[bytes, str], object]) -> None:
    rng = random.Random(folder)
    sources = [p.read_bytes() for p in sorted((FIXTURES / folder).iterdir())]
    outcomes = {"parsed": 0, "refused": 0}
    for _ in range(MUTANTS):
        try:
            parse(mutate(rng.choice(sources), rng), "https://fuzz.example/a/b")
        except ParseError:
            outcomes["refused"] += 1
        else:
            outcomes["parsed"] += 1
    # Both paths were exercised: a parser that refused everything would pass too easily.
    assert outcomes["parsed"] >= 10 and outcomes["refused"] >= 1, outcomes
