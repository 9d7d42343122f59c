"""Page text made inert for each message markup: no controls, mentions, links or markup survive."""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Literal

Markup = Literal["text", "commonmark", "slack", "teams", "html"]

ELLIPSIS = "…"
# Stand-ins the reader takes for the original character but no service acts on (see README).
AT = "\uff20"  # FULLWIDTH COMMERCIAL AT: "＠everyone" pings nobody on any service
DOT = "\u2024"  # ONE DOT LEADER: "evil․example" is not auto-linked
COLON = "\u2236"  # RATIO: "http∶//" is not auto-linked
_LOOKALIKE = {
    "*": "\u2217",  # ASTERISK OPERATOR
    "_": "\u02cd",  # MODIFIER LETTER LOW MACRON
    "~": "\u223c",  # TILDE OPERATOR
    "`": "\u02cb",  # MODIFIER LETTER GRAVE ACCENT
    "\\": "\u29f5",  # REVERSE SOLIDUS OPERATOR
    "[": "\u27e6",  # MATHEMATICAL LEFT WHITE SQUARE BRACKET
    "]": "\u27e7",
    "<": "\u2039",  # SINGLE LEFT-POINTING ANGLE QUOTATION MARK
    ">": "\u203a",
}

_SPACE_LIKE = frozenset("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029")
_SPACES = re.compile(r"\s+")
_MENTION = re.compile(r"(?<!\w)@")  # a sigil that starts a word: @here, <@U1>, @room, @user:hs
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,15}):(?=//)")
_HOSTNAME = re.compile(r"(?i)\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b")
_ENTITY_LIKE = re.compile(r"&(?=#?[0-9A-Za-z]{1,32};)")

# CommonMark: characters that open inline markup anywhere; the backslash before them is not shown.
_CM_INLINE = re.compile(r"([\\`*_~\[\]<>|])")
# CommonMark block markers that only count at the start of a line.
_CM_LINE_START = re.compile(r"^([#+=>-])|^(\d{1,9})([.)])")


def clean(text: str, limit: int) -> str:
    """One line of page text: controls, bidi and zero-width characters gone, spaces collapsed,
    mentions and bare links neutralised, at most `limit` characters (ellipsis when cut)."""
    return cut(_defang(_one_line(text, limit)), limit)


def printable(text: str, limit: int) -> str:
    """One line for a terminal or a log: controls, bidi and zero-width characters gone, cut to
    `limit` characters; links and mentions left as they are (nothing renders them there)."""
    return cut(_one_line(text, limit), limit)


def _one_line(text: str, limit: int) -> str:
    text = text[: limit * 4 + 64]  # stripping only shortens, so a bigger input is work for nothing
    kept = text if text.isprintable() else "".join(_keep(ch) for ch in text)  # fast path
    return _SPACES.sub(" ", kept).strip()


def _keep(ch: str) -> str:
    if ch in _SPACE_LIKE:
        return " "
    if unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
        return ""  # C0/C1 controls, bidi embeds/overrides/isolates/marks, zero-width, BOM, tags
    return ch


def _defang(text: str) -> str:
    text = _MENTION.sub(AT, text)
    text = _SCHEME.sub(lambda m: m.group(1) + COLON, text)
    return _HOSTNAME.sub(lambda m: m.group(0).replace(".", DOT), text)


def cut(text: str, limit: int) -> str:
    """`text` at most `limit` characters long, ending in an ellipsis when shortened."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def escape(text: str, markup: Markup, *, line_start: bool = False) -> str:
    """Already-cleaned text written so that `markup` shows it literally and the reader sees no
    escape character (`line_start`: the text begins a line, where block markers count)."""
    if markup == "html":
        return html.escape(text, quote=False)  # text nodes only; attributes are ours
    if markup == "commonmark":
        return _commonmark(text, line_start)
    if markup in ("slack", "teams"):
        return _lookalike(text, markup)
    return text


def inert(text: str, markup: Markup, limit: int, *, line_start: bool = False) -> str:
    """Page text cleaned, cut to `limit` characters, then escaped for `markup`."""
    return escape(clean(text, limit), markup, line_start=line_start)


def _commonmark(text: str, line_start: bool) -> str:
    # Renderers of CommonMark (Discord, Mattermost, Rocket.Chat, Gotify) hide a backslash that
    # escapes ASCII punctuation, so escaping here never shows; only what could open markup is.
    out = _ENTITY_LIKE.sub(r"\\&", _CM_INLINE.sub(r"\\\1", text))
    if line_start:
        out = _CM_LINE_START.sub(_escape_marker, out)
    return out


def _escape_marker(m: re.Match[str]) -> str:
    return "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3)


def _lookalike(text: str, markup: Markup) -> str:
    # Slack mrkdwn and Teams card Markdown have no escape character a reader would not see:
    # the few characters that open markup become look-alikes instead. Callers never put such
    # text at the start of a line, where list and heading markers would count.
    if markup == "slack":
        # apprise's Slack conversion turns "\\<" into "&lt;", which Slack shows as "<" and never
        # reads as a link, a mention (<!here>, <@U1>) or a channel (<#C1>); it drops the backslash
        # of "\\[" and "\\]" (so no [label](url) becomes a link) and entity-escapes "&" itself.
        out = "".join(_LOOKALIKE[ch] if ch in "*_~`\\" else ch for ch in text)
        return re.sub(r"([<>\[\]])", r"\\\1", out)
    out = "".join(_LOOKALIKE.get(ch, ch) for ch in text)  # Teams: also [ ] and <at>…</at>
    return out
