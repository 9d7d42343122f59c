"""The one place newswatch parses XML: entity declarations refused, network and DTDs off."""

from __future__ import annotations

import html.entities
import io
import re
from collections.abc import Iterator
from typing import NamedTuple

from lxml import etree

from newswatch.errors import ParseError
from parsers.xmlcharset import as_utf8, declare_utf8

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
# Encodings in which "<!ENTITY" is not those bytes (UTF-7, EBCDIC), so the check below is blind.
_HIDING_ENCODING = re.compile(
    rb"^<\?xml[^>]*?encoding\s*=\s*[\"'](?:utf-?7|[^\"']*ebcdic|cp0?37|cp273|cp500|cp875|cp1026"
    rb"|cp1140|ibm0?37|ibm273|ibm500|ibm1047)[\"']",
    re.IGNORECASE,
)
# An ampersand that starts no valid reference: the commonest breakage in hand-made feeds.
_BARE_AMP = re.compile(rb"&(?!#[0-9]{1,7};|#x[0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9._-]{0,31};)")
_NAMED_REF = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_UPPER_HEX_REF = re.compile(rb"&#X([0-9a-fA-F]{1,6});")
# A "<" that starts no tag ("5 < 6"), and HTML's empty tags left open inside a feed's text.
_BARE_LT = re.compile(rb"<(?![A-Za-z_:/!?\x80-\xff])")
_VOID_TAG = re.compile(rb"<(br|hr|wbr|img)(\s[^<>]*)?>", re.IGNORECASE)
# An XML declaration after junk (a server's warning printed before the feed).
_LATE_DECLARATION = re.compile(rb"<\?xml\s")
_JUNK_LIMIT = 4096
# Prefixes feeds and sitemaps use without declaring them, bound to what they conventionally mean.
_CONVENTIONAL_PREFIXES = {
    b"atom": b"http://www.w3.org/2005/Atom",
    b"content": b"http://purl.org/rss/1.0/modules/content/",
    b"dc": b"http://purl.org/dc/elements/1.1/",
    b"dcterms": b"http://purl.org/dc/terms/",
    b"image": b"http://www.google.com/schemas/sitemap-image/1.1",
    b"itunes": b"http://www.itunes.com/dtds/podcast-1.0.dtd",
    b"media": b"http://search.yahoo.com/mrss/",
    b"news": b"http://www.google.com/schemas/sitemap-news/0.9",
    b"rdf": b"http://www.w3.org/1999/02/22-rdf-syntax-ns#",
}
_PREFIX_USED = re.compile(rb"</?([A-Za-z_][\w.-]{0,31}):[A-Za-z_]")
_PREFIX_DECLARED = re.compile(rb"xmlns:([A-Za-z_][\w.-]{0,31})\s*=")
# The root's start tag: after the prolog's declaration, comments, PIs and DOCTYPE.
# Each part matches a given text in one way only ("\s+" or ".*?" here would backtrack
# exponentially over a long run of spaces, PIs or comments).
_ROOT_START = re.compile(
    rb"^(?:\s|<\?(?:[^?]|\?(?!>))*\?>|<!--(?:[^-]|-(?!->))*-->"
    rb"|<!DOCTYPE[^\[>]*(?:\[[^\]]*\][^>]*)?>)*<[A-Za-z_][\w.:-]*",
    re.IGNORECASE,
)
_CONTROL_CHARS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_LXML_WHERE = re.compile(r" \(<string>, line \d+\)$")
_SAMPLE = 65_536
_BINARY_FEW = 16  # control characters a short text may have and still be text
_FEED_CHUNK = 1 << 20
_BINARY_SHARE = 0.01
_XML_NAMED = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})
_REPAIRABLE = frozenset(
    {
        etree.ErrorTypes.ERR_UNDECLARED_ENTITY,
        etree.ErrorTypes.WAR_UNDECLARED_ENTITY,
        etree.ErrorTypes.ERR_ENTITYREF_SEMICOL_MISSING,
        etree.ErrorTypes.ERR_INVALID_CHAR,
        etree.ErrorTypes.ERR_INVALID_ENCODING,
        etree.ErrorTypes.ERR_UNSUPPORTED_ENCODING,
        etree.ErrorTypes.ERR_UNKNOWN_ENCODING,
        etree.ErrorTypes.ERR_ENCODING_NAME,
        etree.ErrorTypes.ERR_INVALID_CHARREF,
        etree.ErrorTypes.ERR_INVALID_DEC_CHARREF,
        etree.ErrorTypes.ERR_INVALID_HEX_CHARREF,
        etree.ErrorTypes.NS_ERR_UNDEFINED_NAMESPACE,
        etree.ErrorTypes.ERR_NAME_REQUIRED,
        etree.ErrorTypes.ERR_TAG_NAME_MISMATCH,
        etree.ErrorTypes.ERR_RESERVED_XML_NAME,
    }
)
_SAFE_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "dtd_validation": False,
    "remove_pis": True,
    "remove_comments": True,
}
_PARSER = etree.XMLParser(**_SAFE_OPTIONS)


class XmlDocument(NamedTuple):
    """A parsed document and the damage it was read through (none when it parsed whole).

    ``cut`` holds the elements the document ended inside of: their end tags never came, so
    their content may be incomplete. (A named tuple: made for every document parsed, it has
    to be cheap.)
    """

    root: etree._Element
    problems: tuple[str, ...] = ()
    cut: frozenset[etree._Element] = frozenset()

    def finished(self, el: etree._Element) -> bool:
        return el not in self.cut

    def damage(self, dropped: int, what: str) -> str:
        """The first problem, and how many ``what`` were dropped for being cut off."""
        return self.problems[0] + (
            f"; dropped {what} cut off unfinished: {dropped}" if dropped else ""
        )


def parse_xml(data: bytes, where: str) -> etree._Element:
    """Parse ``data`` into its root element, or raise ParseError naming ``where``.

    Documents whose DOCTYPE declares entities are refused before lxml sees them (entity
    bombs, external entities). A document that fails only because of HTML named entities,
    stray ampersands, undeclared namespace prefixes, upper-case hex references or a wrong
    encoding is repaired once and parsed again, since real feeds break in exactly those ways.
    """
    root, errors = _strict(_checked(data, where))
    if root is None:
        raise ParseError(f"{where}: malformed XML: {_describe(errors[0])}")
    return root


def read_xml(data: bytes, where: str) -> XmlDocument:
    """Like parse_xml, but a document still malformed after the repairs (cut short, tags
    crossed) is read by a recovering parser, with the same safety options, as far as it goes;
    the document then says what was wrong. ParseError if nothing could be read."""
    text = _checked(data, where)
    root, errors = _strict(text)
    if root is not None:
        return XmlDocument(root)
    if not _mostly_text(text):
        raise ParseError(f"{where}: malformed XML: {_describe(errors[0])}")
    return _recover(_refuse_hostile(_repair(text), where), where, errors[-1])


class NotStreamable(Exception):
    """The document is not well-formed as it came (or declares entities): read it whole with
    read_xml, which repairs and recovers."""


def stream_xml(data: bytes, where: str) -> Iterator[etree._Element]:
    """Each element of the document as its end tag is parsed, for a caller that reads what it
    needs and frees it as it goes (see `release`): a feed of 100,000 entries then never stands
    in memory as one tree. Strict, with parse_xml's safety options and refusals (ParseError);
    any malformation raises NotStreamable once the elements before it were yielded.
    """
    events = etree.iterparse(io.BytesIO(_checked(data, where)), events=("end",), **_SAFE_OPTIONS)
    try:
        for _, el in events:
            yield el
        _refuse_declared_entities(events.root)
    except (etree.LxmlError, ValueError, LookupError) as exc:
        raise NotStreamable(_describe(exc)) from None


def release(el: etree._Element) -> None:
    """Free an element `stream_xml` yielded, and the siblings before it, once they are read."""
    el.clear(keep_tail=False)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def _checked(data: bytes, where: str) -> bytes:
    return _refuse_hostile(_normalise(data, where), where)


def _refuse_hostile(text: bytes, where: str) -> bytes:
    if _HIDING_ENCODING.match(text):
        raise ParseError(f"{where}: XML refused: its declared encoding hides markup from checks")
    if _DOCTYPE.search(text) and _ENTITY_DECL.search(text):
        raise ParseError(f"{where}: XML refused: the DOCTYPE declares entities")
    return text


def _strict(text: bytes) -> tuple[etree._Element | None, list[Exception]]:
    """The root, or None and the error of each attempt: as it came, then once repaired."""
    first = _attempt(text)
    if not isinstance(first, Exception):
        return first, []
    repaired = _repair(text) if _repairable(first, text) else text
    second = _attempt(repaired) if repaired != text else first
    if not isinstance(second, Exception):
        return second, []
    return None, [first, second]


def _recover(text: bytes, where: str, first: Exception) -> XmlDocument:
    parser = etree.XMLPullParser(events=("end",), recover=True, **_SAFE_OPTIONS)
    try:
        for start in range(0, len(text), _FEED_CHUNK):
            parser.feed(text[start : start + _FEED_CHUNK])
            for _ in parser.read_events():
                pass  # ended by their own end tags (read as they come, to hold few at once)
        root = parser.close()
        cut = frozenset(el for _, el in parser.read_events())  # ended only by the close
        _refuse_declared_entities(root)
    except (etree.LxmlError, ValueError, LookupError) as exc:
        raise ParseError(f"{where}: malformed XML: {_describe(exc)}") from None
    return XmlDocument(root, (f"damaged XML, read as far as it goes: {_describe(first)}",), cut)


def _attempt(text: bytes) -> etree._Element | Exception:
    try:
        return _parse(text)
    except (etree.LxmlError, ValueError, LookupError) as exc:
        return exc


def _parse(text: bytes) -> etree._Element:
    root = etree.fromstring(text, _PARSER)
    _refuse_declared_entities(root)
    return root


def _refuse_declared_entities(root: etree._Element | None) -> None:
    if root is None:
        raise ValueError("no root element")
    # Defence in depth: entities can only come from an internal subset, and we never allow one.
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise ValueError("the DOCTYPE declares entities")


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
    return declare_utf8(text.lstrip("\ufeff").lstrip().encode("utf-8"))


def _repairable(exc: Exception, text: bytes) -> bool:
    code = getattr(exc, "code", None)
    if code not in _REPAIRABLE and "EntityRef" not in str(exc):
        return False
    return _mostly_text(text)


def _mostly_text(text: bytes) -> bool:
    # Binary data is not a feed with a few bad bytes: repairing it only costs time.
    head = text[:_SAMPLE]
    return len(_CONTROL_CHARS.findall(head)) <= max(_BINARY_FEW, _BINARY_SHARE * len(head))


def _repair(text: bytes) -> bytes:
    text = as_utf8(_without_junk_before_declaration(text))
    text = _CONTROL_CHARS.sub(b"", text)
    text = _UPPER_HEX_REF.sub(rb"&#x\1;", text)
    text = _BARE_AMP.sub(b"&amp;", text)
    text = _NAMED_REF.sub(_numeric_reference, text)
    text = _BARE_LT.sub(b"&lt;", text)
    text = _VOID_TAG.sub(_closed_void_tag, text)
    return _declare_prefixes(text)


def _closed_void_tag(match: re.Match[bytes]) -> bytes:
    attributes = match.group(2) or b""
    if attributes.rstrip().endswith(b"/"):
        return match.group(0)
    return b"<" + match.group(1) + attributes + b"/>"


def _without_junk_before_declaration(text: bytes) -> bytes:
    late = _LATE_DECLARATION.search(text, 1, _JUNK_LIMIT)
    return text[late.start() :] if late else text


def _declare_prefixes(text: bytes) -> bytes:
    """Undeclared prefixes declared on the root, with their conventional namespace if any."""
    missing = set(_PREFIX_USED.findall(text)) - set(_PREFIX_DECLARED.findall(text))
    missing -= {b"xml", b"xmlns"}
    root = _ROOT_START.match(text) if missing else None
    if root is None:
        return text
    declarations = b"".join(
        b' xmlns:%s="%s"' % (p, _CONVENTIONAL_PREFIXES.get(p.lower(), b"urn:undeclared:" + p))
        for p in sorted(missing)
    )
    return text[: root.end()] + declarations + text[root.end() :]


def _numeric_reference(match: re.Match[bytes]) -> bytes:
    name = match.group(1)
    if name in _XML_NAMED:
        return match.group(0)
    codepoint = html.entities.name2codepoint.get(name.decode("ascii"))
    if codepoint is None:
        return b"&amp;" + name + b";"
    return b"&#%d;" % codepoint


def _describe(exc: Exception) -> str:
    message = _LXML_WHERE.sub("", str(exc)).strip() or type(exc).__name__
    return message[:200]
