"""The one place newswatch parses XML: entity declarations refused, network and DTDs off."""

from __future__ import annotations

import html.entities
import re

from lxml import etree

from newswatch.errors import ParseError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
# Documents without a BOM still reveal a wide encoding by where the NULs fall around "<".
_WIDE_SNIFF: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_WHITESPACE = b" \t\r\n"
_DOCTYPE = re.compile(rb"<!\s*DOCTYPE", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_ENCODING_DECL = re.compile(rb"^(<\?xml[^>]*?encoding\s*=\s*)([\"'])[^\"']*\2")
_DECLARED_UTF8 = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']utf-?8[\"']", re.IGNORECASE)
# Encodings in which "<!ENTITY" is not those bytes (UTF-7, EBCDIC), so the check below is blind.
_HIDING_ENCODING = re.compile(
    rb"^<\?xml[^>]*?encoding\s*=\s*[\"'](?:utf-?7|[^\"']*ebcdic|cp0?37|cp273|cp500|cp875|cp1026"
    rb"|cp1140|ibm0?37|ibm273|ibm500|ibm1047)[\"']",
    re.IGNORECASE,
)
_HAS_DECLARED_ENCODING = re.compile(rb"^<\?xml[^>]*?encoding\s*=", re.IGNORECASE)
# An ampersand that starts no valid reference: the commonest breakage in hand-made feeds.
_BARE_AMP = re.compile(rb"&(?!#[0-9]{1,7};|#x[0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9._-]{0,31};)")
_NAMED_REF = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_CONTROL_CHARS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SAMPLE = 65_536
_BINARY_SHARE = 0.01
_XML_NAMED = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})
_REPAIRABLE = frozenset(
    {
        etree.ErrorTypes.ERR_UNDECLARED_ENTITY,
        etree.ErrorTypes.WAR_UNDECLARED_ENTITY,
        etree.ErrorTypes.ERR_ENTITYREF_SEMICOL_MISSING,
        etree.ErrorTypes.ERR_INVALID_CHAR,
        etree.ErrorTypes.ERR_INVALID_ENCODING,
    }
)
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    dtd_validation=False,
    remove_pis=True,
    remove_comments=True,
)


def parse_xml(data: bytes, where: str) -> etree._Element:
    """Parse ``data`` into its root element, or raise ParseError naming ``where``.

    Documents whose DOCTYPE declares entities are refused before lxml sees them (entity
    bombs, external entities). A document that fails only because of HTML named entities,
    stray ampersands or a few bytes of bad UTF-8 is repaired once and parsed again, since
    real feeds break in exactly those ways.
    """
    text = _normalise(data, where)
    if _HIDING_ENCODING.match(text):
        raise ParseError(f"{where}: XML refused: its declared encoding hides markup from checks")
    if _DOCTYPE.search(text) and _ENTITY_DECL.search(text):
        raise ParseError(f"{where}: XML refused: the DOCTYPE declares entities")
    first = _attempt(text)
    if not isinstance(first, Exception):
        return first
    if _repairable(first, text):
        repaired = _repair(text)
        second = _attempt(repaired) if repaired != text else first
        if not isinstance(second, Exception):
            return second
    raise ParseError(f"{where}: malformed XML: {_describe(first)}")


def _attempt(text: bytes) -> etree._Element | Exception:
    try:
        return _parse(text)
    except (etree.LxmlError, ValueError, LookupError) as exc:
        return exc


def _parse(text: bytes) -> etree._Element:
    root = etree.fromstring(text, _PARSER)
    if root is None:
        raise ValueError("no root element")
    docinfo = root.getroottree().docinfo
    # Defence in depth: entities can only come from an internal subset, and we never allow one.
    dtd = docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise ValueError("the DOCTYPE declares entities")
    return root


def _normalise(data: bytes, where: str) -> bytes:
    """UTF-8 (or the prolog's declared 8-bit encoding) with BOM and leading whitespace removed."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ParseError(f"{where}: expected bytes, got {type(data).__name__}")
    raw = bytes(data)
    encoding = _wide_encoding(raw)
    if encoding is not None:
        raw = _to_utf8(raw, encoding, where)
    elif raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    raw = raw.lstrip(_WHITESPACE)
    if not raw:
        raise ParseError(f"{where}: empty document")
    if not raw.startswith(b"<"):
        raise ParseError(f"{where}: not XML (does not start with '<')")
    return raw


def _wide_encoding(raw: bytes) -> str | None:
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return None if name == "utf-8" else name
    head = raw[:4]
    for pattern, name in _WIDE_SNIFF:
        if head.startswith(pattern):
            return name
    return None


def _to_utf8(raw: bytes, encoding: str, where: str) -> bytes:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ParseError(f"{where}: malformed XML: not valid {encoding}: {exc.reason}") from None
    body = text.lstrip("\ufeff").lstrip().encode("utf-8")
    return _ENCODING_DECL.sub(rb"\1\2UTF-8\2", body, count=1)


def _repairable(exc: Exception, text: bytes) -> bool:
    code = getattr(exc, "code", None)
    if code not in _REPAIRABLE and "EntityRef" not in str(exc):
        return False
    # Binary data is not a feed with a few bad bytes: repairing it only costs time.
    head = text[:_SAMPLE]
    return len(_CONTROL_CHARS.findall(head)) <= _BINARY_SHARE * len(head)


def _repair(text: bytes) -> bytes:
    if _DECLARED_UTF8.match(text) or not _HAS_DECLARED_ENCODING.match(text):
        text = text.decode("utf-8", "replace").encode("utf-8")
    text = _CONTROL_CHARS.sub(b"", text)
    text = _BARE_AMP.sub(b"&amp;", text)
    return _NAMED_REF.sub(_numeric_reference, text)


def _numeric_reference(match: re.Match[bytes]) -> bytes:
    name = match.group(1)
    if name in _XML_NAMED:
        return match.group(0)
    codepoint = html.entities.name2codepoint.get(name.decode("ascii"))
    if codepoint is None:
        return b"&amp;" + name + b";"
    return b"&#%d;" % codepoint


def _describe(exc: Exception) -> str:
    message = str(exc).strip() or type(exc).__name__
    return message[:200]
