"""What each family of apprise services renders, and its limits, keyed by the channel URL scheme."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from newswatch.inert import Markup

NotifyFormat = Literal["text", "markdown", "html"]  # apprise's body formats


@dataclass(frozen=True, slots=True)
class Service:
    """How to write for one family: the markup its readers see and the apprise format to declare.

    `format` is what apprise is told; it is always the plugin's own format, so apprise converts
    nothing. With `title_field` the service shows apprise's title as a separate plain-text field
    (a subject, a heading); otherwise the title goes into the body, written in `markup`.
    """

    family: str
    markup: Markup
    format: NotifyFormat
    title_field: bool
    title_max: int  # characters of the headline (or of the whole title field)
    body_max: int  # characters of the whole body, markup included


_SLACK = Service("slack", "slack", "markdown", False, 250, 3000)
_DISCORD = Service("discord", "commonmark", "markdown", False, 250, 1900)
_TELEGRAM = Service("telegram", "html", "html", False, 250, 4000)
_MATRIX = Service("matrix", "html", "html", False, 250, 30000)
_MATTERMOST = Service("mattermost", "commonmark", "text", False, 250, 4000)
_ROCKET = Service("rocketchat", "commonmark", "markdown", False, 250, 1000)
_TEAMS = Service("teams", "teams", "markdown", False, 250, 1000)
_EMAIL = Service("email", "html", "html", True, 200, 100_000)
_NTFY = Service("ntfy", "text", "text", True, 200, 1000)
_GOTIFY = Service("gotify", "text", "text", True, 200, 4000)
_SIGNAL = Service("signal", "text", "text", False, 250, 2000)
_WEBHOOK = Service("webhook", "text", "text", True, 250, 32000)
_SMS = Service("sms", "text", "text", False, 160, 600)

SERVICES: dict[str, Service] = {
    "slack": _SLACK,
    "discord": _DISCORD,
    "tgram": _TELEGRAM,
    "matrix": _MATRIX,
    "matrixs": _MATRIX,
    "mmost": _MATTERMOST,
    "mmosts": _MATTERMOST,
    "rocket": _ROCKET,
    "rockets": _ROCKET,
    "workflow": _TEAMS,
    "workflows": _TEAMS,
    "mailto": _EMAIL,
    "mailtos": _EMAIL,
    "ntfy": _NTFY,
    "ntfys": _NTFY,
    "gotify": _GOTIFY,
    "gotifys": _GOTIFY,
    "signal": _SIGNAL,
    "signals": _SIGNAL,
    "json": _WEBHOOK,
    "jsons": _WEBHOOK,
    "xml": _WEBHOOK,
    "xmls": _WEBHOOK,
    "form": _WEBHOOK,
    "forms": _WEBHOOK,
    **{s: _SMS for s in ("twilio", "vonage", "nexmo", "sinch", "clicksend", "bulksms", "msg91")},
}

_FORMATS: dict[str, NotifyFormat] = {"text": "text", "markdown": "markdown", "html": "html"}
_BY_FORMAT: dict[NotifyFormat, Markup] = {"text": "text", "markdown": "commonmark", "html": "html"}


def scheme(url: str) -> str:
    return url.split(":", 1)[0].lower()


def service_for(url: str) -> Service:
    """The family a channel URL belongs to; an unknown scheme is a plain-text webhook."""
    return SERVICES.get(scheme(url), _WEBHOOK)


def adapted(
    service: Service, resolved: str, *, title_maxlen: int, body_maxlen: int, known: bool
) -> Service:
    """`service` after asking the apprise plugin: the format it will really send (a `?format=`
    in the URL can change it) and its own limits when they are tighter than ours."""
    fmt = _FORMATS.get(resolved, "text")
    if fmt != service.format or not known:
        title_field = fmt == "text" and title_maxlen > 0 and service.title_field
        service = replace(
            service,
            family=f"other ({fmt})",
            markup=_BY_FORMAT[fmt],
            format=fmt,
            title_field=title_field,
        )
    body_max = min(service.body_max, body_maxlen) if body_maxlen > 0 else service.body_max
    title_max = service.title_max
    if service.title_field and title_maxlen > 0:
        title_max = min(title_max, title_maxlen)
    return replace(service, body_max=body_max, title_max=title_max)
