"""Developments → messages: Markdown for chat, HTML for email; page text is always escaped."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

from newswatch.models import Development

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~>=])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
KIND_LABEL = {"new_story": "New story", "update": "Update", "figure": "Figure change"}
MAX_TITLE = 200


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    body_format: str  # "markdown" | "html" (apprise NotifyFormat values)


def plain(text: str, limit: int = 2000) -> str:
    """One line of page text with control characters gone and length capped."""
    text = _CONTROL.sub(" ", text).replace("\n", " ").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def md_escape(text: str, limit: int = 2000) -> str:
    """Page text made inert in Markdown (no links, emphasis, HTML or headings can come through)."""
    return _MD_SPECIAL.sub(r"\\\1", plain(text, limit))


def safe_link(url: str) -> str:
    """An http(s) URL with characters that could break out of a link percent-encoded."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        return ""
    return quote(url.strip(), safe=":/?#[]@!$&'*+,;=%-._~")


def when(dt: datetime | None) -> str:
    return dt.strftime("%d %b %Y %H:%M UTC") if dt else "time unknown"


def subject(dev: Development) -> str:
    label = KIND_LABEL.get(dev.kind, dev.kind)
    return plain(f"[{dev.topic}] {label}: {dev.title or dev.url}", MAX_TITLE)


def render_instant(dev: Development, *, email: bool) -> Message:
    body = _html_block(dev) if email else _md_block(dev)
    if email:
        body = f"<html><body>{body}{_html_footer()}</body></html>"
    return Message(subject(dev), body, "html" if email else "markdown")


def render_digest(devs: Sequence[Development], *, email: bool, label: str) -> Message:
    """One message for a digest period, grouped by topic (topics in first-seen order)."""
    groups: dict[str, list[Development]] = {}
    for d in devs:
        groups.setdefault(d.topic, []).append(d)
    count = len(devs)
    title = plain(f"newswatch digest ({label}): {count} development{'s' * (count != 1)}", MAX_TITLE)
    if email:
        parts = [
            f"<h2>{html.escape(topic)} ({len(items)})</h2>" + "".join(_html_block(d) for d in items)
            for topic, items in groups.items()
        ]
        return Message(title, f"<html><body>{''.join(parts)}{_html_footer()}</body></html>", "html")
    parts = [
        f"## {md_escape(topic)} ({len(items)})\n\n" + "\n\n".join(_md_block(d) for d in items)
        for topic, items in groups.items()
    ]
    return Message(title, "\n\n".join(parts), "markdown")


def _md_block(dev: Development) -> str:
    label = KIND_LABEL.get(dev.kind, dev.kind)
    lines = [f"**{md_escape(dev.topic)} · {label}:** {md_escape(dev.title or dev.url, 300)}"]
    changes = figure_lines(dev)
    lines += [f"> **{md_escape(t)}**" if t in changes else f"> {md_escape(t)}" for t in dev.text]
    link = safe_link(dev.url)
    outlets = ", ".join(md_escape(o, 100) for o in dev.outlets) or md_escape(dev.source, 100)
    lines.append(f"{outlets} · {when(dev.published or dev.detected)}")
    if link:
        lines.append(f"<{link}>")
    for source, url in dev.links:
        if other := safe_link(url):
            lines.append(f"also {md_escape(source, 100)}: <{other}>")
    return "\n".join(lines)


def _html_block(dev: Development) -> str:
    label = KIND_LABEL.get(dev.kind, dev.kind)
    link = safe_link(dev.url)
    title = html.escape(plain(dev.title or dev.url, 300))
    head = f'<a href="{html.escape(link)}">{title}</a>' if link else title
    changes = figure_lines(dev)
    quotes = "".join(
        f"<li><b>{html.escape(plain(t))}</b></li>"
        if t in changes
        else f"<li>{html.escape(plain(t))}</li>"
        for t in dev.text
    )
    outlets = html.escape(", ".join(plain(o, 100) for o in dev.outlets) or plain(dev.source, 100))
    also = "".join(
        f' · also <a href="{html.escape(other)}">{html.escape(plain(source, 100))}</a>'
        for source, url in dev.links
        if (other := safe_link(url))
    )
    return (
        f"<h3>{html.escape(dev.topic)} · {label}: {head}</h3>"
        f"<ul>{quotes}</ul>"
        f"<p>{outlets} · {html.escape(when(dev.published or dev.detected))}{also}</p>"
    )


def figure_lines(dev: Development) -> set[str]:
    """The "measure: before → after" lines of a development, shown in bold."""
    found = dev.reason.get("figures")
    if not isinstance(found, list):
        return set()
    return {
        f"{f['measure']}: {f['before']} → {f['after']}"
        for f in found
        if isinstance(f, dict) and {"measure", "before", "after"} <= f.keys()
    }


def _html_footer() -> str:
    return "<hr><p><small>Sent by newswatch.</small></p>"
