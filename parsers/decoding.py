"""Bytes of an HTML page to text, the encoding picked as a browser would without HTTP headers."""

from __future__ import annotations

import codecs
import re

# Real article pages are well under 2 MB; anything beyond the cap is cut before lxml sees it, so a
# hostile page costs bounded time and memory.
MAX_INPUT_BYTES = 4_000_000

_META_CHARSET = re.compile(rb"""<meta[^>]{0,300}?charset\s*=\s*["']?\s*([\w.:-]{1,40})""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([\w.:-]{1,40})""", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# WHATWG: pages labelled Latin-1 or ASCII are decoded as windows-1252, and a meta tag cannot
# switch to UTF-16 (the bytes being readable ASCII proves they are not UTF-16).
_ENCODING_ALIASES = {"latin1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252"}


def decode_html(data: bytes | bytearray) -> str:
    """Bytes of an HTML page to text, picking the encoding as a browser would without headers.

    BOM first, then the declared charset, then UTF-8; a page that is not valid in any of them
    is read as UTF-8 when only a few bytes are stray, else as windows-1252 (the usual truth
    behind a wrong or missing label).
    """
    data = bytes(data[:MAX_INPUT_BYTES])
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(name, errors="replace")
    declared = _declared_encoding(data[:4096])
    for candidate in dict.fromkeys((declared or "utf-8", "utf-8")):
        try:
            return data.decode(candidate)
        except UnicodeDecodeError:
            continue
    if declared and declared != "utf-8":
        return data.decode(declared, errors="replace")
    text = data.decode("utf-8", errors="replace")
    if text.count("\ufffd") <= max(3, len(text) // 1000):
        return text
    return data.decode("cp1252", errors="replace")


def _declared_encoding(head: bytes) -> str | None:
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    if not match:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return None
    if name.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return _ENCODING_ALIASES.get(name, name)
