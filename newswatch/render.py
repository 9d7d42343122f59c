"""Developments → messages in the markup each service renders; page text is always made inert."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

from newswatch.inert import clean, inert
from newswatch.models import Development
from newswatch.services import Service, service_for

KIND_LABEL = {"new_story": "New story", "update": "Update", "figure": "Figure change"}
MAX_TITLE = 200
SENTENCE_MAX = 1000  # characters of one evidence sentence
NAME_MAX = 100  # characters of an outlet or topic name
CHAT = service_for("json://")
EMAIL = service_for("mailto://")


@dataclass(frozen=True, slots=True)
class Message:
    title: str  # one clean line: the subject, or what a log and the run report show
    body: str
    body_format: str  # the apprise NotifyFormat declared ("text" | "markdown" | "html")
    field_title: str = ""  # what apprise gets as its title: "" when the title is in the body


@dataclass(frozen=True, slots=True)
class _Style:
    """Line templates of one markup; every `{}` receives text already made inert."""

    bold: str
    quote: str
    heading: str
    link: str  # {url} and {label}
    sep: str


_STYLES = {
    "text": _Style("{}", "> {}", "## {}", "{url}", "\n"),
    "commonmark": _Style("**{}**", "> {}", "## {}", "<{url}>", "\n"),
    "slack": _Style("**{}**", "> {}", "**{}**", "<{url}>", "\n"),
    "teams": _Style("**{}**", "• {}", "**{}**", "[{label}]({url})", "\n\n"),
    "html": _Style("<b>{}</b>", "» {}", "<b>{}</b>", '<a href="{url}">{label}</a>', "<br>\n"),
}


def plain(text: str, limit: int = 2000) -> str:
    """One line of page text, cleaned of controls and mentions, length capped (no markup)."""
    return clean(text, limit)


def md_escape(text: str, limit: int = 2000) -> str:
    """Page text made inert in CommonMark; the backslashes it adds are never shown."""
    return inert(text, "commonmark", limit)


def safe_link(url: str) -> str:
    """An http(s) URL with characters that could break out of a link percent-encoded."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        return ""
    return quote(url.strip(), safe=":/?#[]@!$&'*+,;=%-._~")


def when(dt: datetime | None) -> str:
    return dt.strftime("%d %b %Y %H:%M UTC") if dt else "time unknown"


def subject(dev: Development, limit: int = MAX_TITLE) -> str:
    label = KIND_LABEL.get(dev.kind, dev.kind)
    return clean(f"[{dev.topic}] {label}: {dev.title or dev.url}", limit)


def render_instant(dev: Development, service: Service = CHAT) -> Message:
    """One development as one message written for `service`."""
    title = subject(dev, service.title_max)
    field = title if service.title_field else ""
    if service.family == "email":
        body = _email_doc(_email_block(dev, service.title_max))
        return Message(title, cut_html(body, service.body_max), "html", field)
    body = _block(dev, service, service.body_max)
    return Message(title, body, service.format, field)


def render_digest(devs: Sequence[Development], service: Service, label: str) -> Message:
    """One message for a digest period, grouped by topic (topics in first-seen order)."""
    groups: dict[str, list[Development]] = {}
    for d in devs:
        groups.setdefault(d.topic, []).append(d)
    count = len(devs)
    title = clean(f"newswatch digest ({label}): {count} development{'s' * (count != 1)}", MAX_TITLE)
    field = title if service.title_field else ""
    if service.family == "email":
        return Message(title, _email_digest(groups, service), "html", field)
    body = _chat_digest(groups, service, "" if service.title_field else title)
    return Message(title, body, service.format, field)


def render_health(title: str, text: str, service: Service) -> Message:
    """A health alarm or recovery notice written for `service` (its text made inert there)."""
    if service.family == "email":
        body = f"<html><body><p>{inert(text, 'html', 4000)}</p></body></html>"
        return Message(title, body, "html", title)
    body = inert(text, service.markup, 4000, line_start=True)
    if service.title_field:
        return Message(title, body, service.format, title)
    sep = "<br>\n" if service.markup == "html" else "\n"
    head = inert(title, service.markup, service.title_max, line_start=True)
    return Message(title, head + sep + body, service.format, "")


# --- chat and plain text -----------------------------------------------------------------------


def _block(dev: Development, service: Service, limit: int) -> str:
    """A development in at most `limit` characters ("" when not even its headline fits). Whole
    lines are dropped (other outlets' links, then evidence from the last, then the outlets),
    and then the headline shortened, so nothing is ever cut inside an escape or an entity."""
    sep = _STYLES[service.markup].sep
    link, outlets, also = _footer(dev, service)
    evidence = _evidence(dev, service)
    room = service.title_max
    while room >= 10:
        head = _headline(dev, service, room)
        if len(head) + len(sep) + len(link) <= limit or (not link and len(head) <= limit):
            ranked = [(0, head)] + [(3 + i, e) for i, e in enumerate(evidence)]
            ranked += [(2, outlets), (1, link)] + [(100 + i, a) for i, a in enumerate(also)]
            return sep.join(_assemble([r for r in ranked if r[1]], limit, len(sep)))
        room //= 2
    return ""


def _assemble(parts: list[tuple[int, str]], limit: int, sep: int) -> list[str]:
    """The lines that fit in `limit`, best rank (lowest) first, shown in their given order."""
    keep: set[int] = set()
    used = -sep
    for i in sorted(range(len(parts)), key=lambda i: (parts[i][0], i)):
        cost = len(parts[i][1]) + sep
        if used + cost <= limit:
            keep.add(i)
            used += cost
    return [parts[i][1] for i in sorted(keep)]


def _headline(dev: Development, service: Service, room: int) -> str:
    style = _STYLES[service.markup]
    label = KIND_LABEL.get(dev.kind, dev.kind)
    topic = inert(dev.topic, service.markup, NAME_MAX)
    headline = inert(dev.title or dev.url, service.markup, room)
    return f"{style.bold.format(f'{topic} · {label}:')} {headline}"


def _evidence(dev: Development, service: Service) -> list[str]:
    style = _STYLES[service.markup]
    changes = figure_lines(dev)
    lines = []
    for text in dev.text:
        bold = text in changes and style.bold != "{}"
        written = inert(text, service.markup, SENTENCE_MAX, line_start=not bold)
        lines.append(style.quote.format(style.bold.format(written) if bold else written))
    return lines


def _footer(dev: Development, service: Service) -> tuple[str, str, list[str]]:
    """The article link line, the outlets-and-time line, and one line per other outlet's link."""
    style = _STYLES[service.markup]
    names = dev.outlets or (dev.source,)
    outlets = ", ".join(inert(o, service.markup, NAME_MAX) for o in names)
    when_line = f"{outlets} · {when(dev.published or dev.detected)}"
    link = _link(style, url) if (url := safe_link(dev.url)) else ""
    also = [
        f"also {inert(source, service.markup, NAME_MAX)}: {_link(style, other)}"
        for source, url in dev.links
        if (other := safe_link(url))
    ]
    return link, when_line, also


def _link(style: _Style, url: str) -> str:
    if "href" in style.link:
        return style.link.format(url=html.escape(url), label=html.escape(url))
    return style.link.format(url=url, label=urlsplit(url).hostname or "link")


def _chat_digest(groups: dict[str, list[Development]], service: Service, title: str) -> str:
    """Topic headings with their developments, as many whole ones as fit in the body limit."""
    style = _STYLES[service.markup]
    gap = style.sep * 2
    body = style.bold.format(inert(title, service.markup, MAX_TITLE)) if title else ""
    budget = service.body_max - 80  # leaves room for the closing "… and N more" line
    shown = 0
    for topic, items in groups.items():
        heading = style.heading.format(f"{inert(topic, service.markup, NAME_MAX)} ({len(items)})")
        for i, dev in enumerate(items):
            lead = gap + heading + gap if i == 0 else gap
            room = budget - len(body) - len(lead)
            block = _block(dev, service, room) if room > 40 else ""
            if not block:
                break
            body += lead + block
            shown += 1
    left = sum(len(items) for items in groups.values()) - shown
    if left:
        body += f"{gap}… and {left} more not shown here"
    return body.removeprefix(gap)


# --- email -------------------------------------------------------------------------------------


def _email_doc(inner: str) -> str:
    return f"<html><body>{inner}{_html_footer()}</body></html>"


def _email_block(dev: Development, title_max: int) -> str:
    label = KIND_LABEL.get(dev.kind, dev.kind)
    link = safe_link(dev.url)
    title = inert(dev.title or dev.url, "html", title_max)
    head = f'<a href="{html.escape(link)}">{title}</a>' if link else title
    changes = figure_lines(dev)
    quotes = "".join(_email_quote(t, t in changes) for t in dev.text)
    names = dev.outlets or (dev.source,)
    outlets = ", ".join(inert(o, "html", NAME_MAX) for o in names)
    links = [_email_link("", link)] if link else []
    links += [
        _email_link(f"also {inert(source, 'html', NAME_MAX)}: ", other)
        for source, url in dev.links
        if (other := safe_link(url))
    ]
    # The link is visible text, so apprise's text/plain part (made from this HTML) carries it.
    return (
        f"<h3>{inert(dev.topic, 'html', NAME_MAX)} · {label}: {head}</h3>"
        f"<ul>{quotes}</ul>"
        f"<p>{outlets} · {html.escape(when(dev.published or dev.detected))}</p>" + "".join(links)
    )


def _email_quote(text: str, bold: bool) -> str:
    written = inert(text, "html", SENTENCE_MAX)
    return f"<li><b>{written}</b></li>" if bold else f"<li>{written}</li>"


def _email_link(prefix: str, url: str) -> str:
    href = html.escape(url)
    return f'<p>{prefix}<a href="{href}">{href}</a></p>'


def _email_digest(groups: dict[str, list[Development]], service: Service) -> str:
    parts = [
        f"<h2>{inert(topic, 'html', NAME_MAX)} ({len(items)})</h2>"
        + "".join(_email_block(d, service.title_max) for d in items)
        for topic, items in groups.items()
    ]
    return cut_html(_email_doc("".join(parts)), service.body_max)


def cut_html(doc: str, limit: int) -> str:
    """An email document within `limit` characters, cut between two blocks, never inside a tag."""
    if len(doc) <= limit:
        return doc
    end = doc.rfind("<h3>", 0, limit - 200)
    return _email_doc(doc[len("<html><body>") : max(end, len("<html><body>"))] + "<p>…</p>")


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
