"""Re-encodes as UTF-8 an XML document whose declared (or missing) encoding is not what it is."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

_DECLARATION = re.compile(rb"^(<\?xml[^>]*?encoding\s*=\s*)([\"'])([^\"']{0,64})\2", re.IGNORECASE)
_UTF8_NAMES = frozenset({"utf-8", "utf8", "utf_8"})
# Well-formed multi-byte UTF-8 sequences: text full of them is UTF-8 with a few stray bytes.
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xef][\x80-\xbf]{2}"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
)
_DETECTION_SAMPLE = 262_144
_WESTERN = "cp1252"
_NON_ASCII_LETTER = re.compile(r"[^\W\d_\x00-\x7f]")
_LATIN_LETTER = re.compile(r"[\u00c0-\u024f]")
_PROBE = "<?xml version='1.0'?><a b=\"c\">&amp;</a>"


def as_utf8(text: bytes) -> bytes:
    """``text`` as UTF-8 with a declaration saying so; ``text`` itself when it already is.

    A declared encoding Python knows is used even where libxml2 does not know it (cp437,
    "850"); undeclared or falsely declared UTF-8 that is not UTF-8 is decoded with the
    encoding charset detection finds, unless it is mostly UTF-8 with a few stray bytes.
    """
    match = _DECLARATION.match(text)
    declared = match.group(3).decode("ascii", "replace").strip().lower() if match else ""
    if declared and declared not in _UTF8_NAMES:
        codec = _ascii_compatible(declared)
        if codec is not None:
            return declare_utf8(text.decode(codec, "replace").encode("utf-8"))
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        return declare_utf8(_decode_unknown(text).encode("utf-8"))
    return declare_utf8(text) if declared and declared not in _UTF8_NAMES else text


def _decode_unknown(text: bytes) -> str:
    bad = text.decode("utf-8", "replace").count("\ufffd")
    if len(_UTF8_SEQUENCE.findall(text)) >= bad:
        return text.decode("utf-8", "replace")
    codec = _detected(text)
    return text.decode(codec or "utf-8", "replace")


def _detected(text: bytes) -> str | None:
    """The encoding charset detection finds, except that text in Latin script gets
    windows-1252 where it decodes cleanly: detection guesses poorly between the Latin code
    pages on short texts, and windows-1252 is what undeclared Western text is in practice."""
    best = charset_normalizer.from_bytes(text[:_DETECTION_SAMPLE]).best()
    codec = _ascii_compatible(best.encoding) if best is not None else None
    if codec is None or _latin_script(str(best)):
        return _WESTERN if _decodes(text, _WESTERN) else codec
    return codec


def _latin_script(text: str) -> bool:
    letters = len(_NON_ASCII_LETTER.findall(text))
    return 2 * len(_LATIN_LETTER.findall(text)) >= letters


def _decodes(text: bytes, codec: str) -> bool:
    try:
        text.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _ascii_compatible(name: str) -> str | None:
    """The Python codec for ``name`` if markup reads the same in it as in ASCII, else None:
    a codec that moves "<" or "&" (UTF-7, UTF-16, EBCDIC) could hide markup from our checks."""
    try:
        codec = codecs.lookup(name).name
        same = _PROBE.encode(codec) == _PROBE.encode("ascii")
    except (LookupError, ValueError, UnicodeError):
        return None
    return codec if same and "utf_7" not in codec else None


def declare_utf8(text: bytes) -> bytes:
    """``text`` with the encoding its XML declaration names (if any) changed to UTF-8."""
    return _DECLARATION.sub(rb"\1\2UTF-8\2", text, count=1)
