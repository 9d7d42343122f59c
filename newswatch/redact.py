"""Shows URLs and configs without their secrets: in fetch logs, errors and ``newswatch check``."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import make_url

from newswatch.models import Config, Topic

__all__ = ["describe", "format_duration", "mask_url", "redact"]

_HOSTNAME = re.compile(r"(?:[A-Za-z0-9-]+\.)+[A-Za-z0-9-]+|localhost|\[[0-9A-Fa-f:.]+\]")
# Query parameters of apprise URLs that name recipients or formatting, never credentials.
_SAFE_QUERY_KEYS = frozenset(
    {"to", "cc", "bcc", "from", "name", "format", "overflow", "subject", "mode", "lang",
     "priority", "tags", "channel", "channels", "footer", "image", "avatar", "verify", "smtp",
     "port", "secure", "reply"}
)  # fmt: skip
_SECRET_QUERY_KEY = re.compile(r"key|token|secret|pass|auth|sig|session|credential", re.I)
# Greedy to the last "@" before the path, as HTTP clients split user:password@host.
_USERINFO = re.compile(r"//[^/?#]*@")
_KEY_AT = re.compile(r"[?&]([^=&#]*)")
_VALUE_END = re.compile(r"[&#]")


def redact(url: str, *, userinfo: str = "") -> str:
    """An http(s) URL fit to print: credential-like ``key=value`` values masked.

    Each ``user:password@`` becomes `userinfo`: nothing in fetch logs and errors, ``***@`` where
    the reader should see that credentials are set. Never raises, whatever the string.
    """
    text = _USERINFO.sub(lambda _: "//" + userinfo, url)
    # Scanned by hand, not by one regex, to test each key once it is percent-decoded.
    kept: list[str] = []
    done = pos = 0
    while (key := _KEY_AT.search(text, pos)) is not None:
        pos = key.end()
        if text.startswith("=", pos) and _SECRET_QUERY_KEY.search(unquote(key.group(1))):
            kept.append(text[done : pos + 1] + "***")
            stop = _VALUE_END.search(text, pos)
            done = pos = stop.start() if stop else len(text)
    return "".join(kept) + text[done:]


def _mask_query(query: str) -> str:
    pairs = (pair.partition("=") for pair in query.split("&"))
    return "&".join(
        k + eq + (v if not eq or unquote(k).lower() in _SAFE_QUERY_KEYS else "***")
        for k, eq, v in pairs
    )


def mask_url(url: str) -> str:
    """An apprise URL fit to print: scheme, hostname and recipients kept, credentials masked."""
    scheme, sep, _ = url.partition("://")
    if not sep or not scheme:
        return "***"
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{scheme}://***"
    _, at, hostport = parts.netloc.rpartition("@")
    host, _, port = hostport.partition(":") if "]" not in hostport else (hostport, "", "")
    # A bare word in the host position is a token (slack://TOKEN/...), not a host.
    shown = (host + (f":{port}" if port.isdigit() else "")) if _HOSTNAME.fullmatch(host) else "***"
    # Path segments of apprise URLs are mostly tokens; "#channel" and "@user" are not secret.
    path = "/".join(s if not s or s[0] in "#@" else "***" for s in parts.path.split("/"))
    text = f"{scheme}://{'***@' if at else ''}{shown}{path}"
    if parts.query:
        text += "?" + _mask_query(parts.query)
    if parts.fragment:
        text += "#" + (parts.fragment if re.fullmatch(r"[\w.-]+", parts.fragment) else "***")
    return text


def format_duration(seconds: float) -> str:
    """The shortest of ``3d``, ``24h``... that says exactly `seconds`."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _describe_topic(topic: Topic) -> list[str]:
    lines = [f"  {topic.name}"]
    for label, terms in (("any", topic.any), ("all", topic.all), ("none", topic.none)):
        if terms:
            lines.append(f"    {label + ':':<9} {', '.join(terms)}")
    if topic.measures:
        listed = "; ".join(f"{name} ({', '.join(cues)})" for name, cues in topic.measures)
        lines.append(f"    measures: {listed}")
    return lines


def describe(config: Config) -> str:
    """What ``newswatch check`` prints: sources, topics and channels, with secrets masked."""
    lines = [f"config: {config.path}", f"store: {make_url(config.store).render_as_string()}"]
    width = max(len(s.name) for s in config.sources)
    lines.append(f"sources ({len(config.sources)}):")
    for s in config.sources:
        links = f"  links: {s.links}" if s.links else ""
        every, url = format_duration(s.settings.interval), redact(s.url, userinfo="***@")
        lines.append(f"  {s.name:<{width}}  {s.kind:<7}  {url}  every {every}{links}")
    lines.append(f"topics ({len(config.topics)}):")
    for topic in config.topics:
        lines.extend(_describe_topic(topic))
    lines.append(f"channels ({len(config.channels)}):" if config.channels else "channels: none")
    width = max([len(c.name) for c in config.channels], default=0)
    for c in config.channels:
        when = f"digest {c.digest}" if c.digest else "instant"
        what = f"topics: {', '.join(c.topics)}  {when}" if c.topics else ""
        what += "  + source health" if c.health else ""
        lines.append(f"  {c.name:<{width}}  {mask_url(c.url)}  {what.strip()}")
    return "\n".join(lines) + "\n"
