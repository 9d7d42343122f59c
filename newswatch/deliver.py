"""Sends the outbox through apprise channel by channel; one failing channel never blocks others."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import apprise
from apprise.plugins.base import NotifyBase

from newswatch.models import Channel
from newswatch.render import Message, render_digest, render_instant
from newswatch.services import SERVICES, Service, adapted, scheme, service_for
from newswatch.store import OutboxItem, Store

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)  # a claimed row another process may take over after a crash
BACKOFF_START = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)
NOTIFY_TIMEOUT = 30.0


@dataclass(slots=True)
class ChannelResult:
    channel: str
    mode: str
    sent: int = 0
    failed: int = 0
    error: str | None = None
    messages: list[str] = field(default_factory=list)  # titles of what was sent


Sender = Callable[[Channel, Message], str | None]  # returns an error text, None when accepted


def backoff(attempts: int) -> timedelta:
    """Delay before the next try of a row that has failed `attempts` times (1 → 1 min, doubling)."""
    return min(BACKOFF_START * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def channel_service(channel: Channel) -> Service:
    """The service family of a channel, checked against its apprise plugin: the format the plugin
    will really send (a `?format=` in the URL can change it) and the plugin's own limits."""
    base = service_for(channel.url)
    ap = apprise.Apprise()
    if not ap.add(channel.url):
        return base
    plugin = ap[0]
    resolved = plugin.resolve_format(base.format)
    declared = int(plugin.body_maxlen)  # apprise's generic default is no limit of the service's
    return adapted(
        base,
        str(getattr(resolved, "value", resolved)),
        title_maxlen=int(plugin.title_maxlen),
        body_maxlen=0 if declared == NotifyBase.body_maxlen else declared,
        known=scheme(channel.url) in SERVICES,
    )


def apprise_send(channel: Channel, message: Message) -> str | None:
    """Send one message through apprise; returns None on success or a secret-free error text."""
    ap = apprise.Apprise()
    if not ap.add(channel.url):
        return "apprise does not accept this channel URL (check its scheme and form)"
    problems: list[str] = []

    def collect(entry: Any, _service: Any = None) -> None:
        if str(getattr(entry, "level", "")).upper() in ("WARNING", "ERROR", "CRITICAL"):
            problems.append(str(getattr(entry, "message", entry)))

    try:
        result = ap.notify(
            body=message.body,
            title=message.field_title,
            body_format=message.body_format,
            timeout=NOTIFY_TIMEOUT,
            log_callback=collect,
        )
    except Exception as exc:  # a plugin bug must not end the run
        return scrub(f"{exc.__class__.__name__}: {exc}", channel.url)
    if int(getattr(result, "status", 0 if result else 1)) == 0:
        return None
    return scrub("; ".join(problems[-3:]) or "the service refused the message", channel.url)


def scrub(text: str, url: str) -> str:
    """Remove every longer piece of the channel URL (tokens, passwords, paths) from a text."""
    for token in sorted(set(re.split(r"[:/@?&=#]+", url)), key=len, reverse=True):
        if len(token) >= 6 and token.lower() not in ("mailto", "mailtos"):
            text = text.replace(token, "***")
    return text[:500]


def deliver_instant(
    store: Store, channels: Sequence[Channel], now: datetime, send: Sender = apprise_send
) -> list[ChannelResult]:
    """One message per due row of every instant channel; a failing channel waits with backoff."""
    results = []
    for channel in channels:
        if channel.digest:
            continue
        result = ChannelResult(channel.name, "instant")
        results.append(result)
        if _waiting(store, result, now):
            continue
        items = store.claim_due(channel.name, "instant", now, LEASE)
        service = channel_service(channel) if items else service_for(channel.url)
        for i, item in enumerate(items):
            dev = store.development(item.development_id)
            message = render_instant(dev, service)
            error = send(channel, message)
            if error is None:
                store.mark_sent([item], now)  # per row, so a crash re-sends at most one message
                result.sent += 1
                result.messages.append(message.title)
                continue
            _fail(store, [item], now, error, result)
            store.release(items[i + 1 :])  # do not hammer a channel that just refused
            break
    return results


def deliver_digests(
    store: Store,
    channels: Sequence[Channel],
    now: datetime,
    *,
    mode: str = "digest",
    due_only: bool,
    label: str = "",
    send: Sender = apprise_send,
) -> list[ChannelResult]:
    """One message per channel holding what it collected: its digest, or a backfill's findings.

    Mode "digest" covers channels with a `digest` schedule (with `due_only`, rows whose time
    has not come stay); mode "backfill" covers every channel, for the rows one backfill made.
    """
    results = []
    for channel in channels:
        if mode == "digest" and not channel.digest:
            continue
        result = ChannelResult(channel.name, mode)
        if due_only and _waiting(store, result, now):
            results.append(result)
            continue
        items = store.claim_due(
            channel.name, mode, now, LEASE, limit=1000, ignore_schedule=not due_only
        )
        if items:
            devs = [store.development(i.development_id) for i in items]
            message = render_digest(
                devs, channel_service(channel), label=label or channel.digest or mode
            )
            error = send(channel, message)
            if error is None:
                store.mark_sent(items, now)
                result.sent = len(items)
                result.messages.append(message.title)
            else:
                _fail(store, items, now, error, result)
        results.append(result)
    return results


def _waiting(store: Store, result: ChannelResult, now: datetime) -> bool:
    """True (and noted in the result) while the channel is backing off after a refusal."""
    until = store.channel_waiting_until(result.channel, result.mode, now)
    if until is not None:
        result.error = f"waiting after a refusal; next try after {until:%Y-%m-%d %H:%M} UTC"
    return until is not None


def _fail(
    store: Store, items: Sequence[OutboxItem], now: datetime, error: str, result: ChannelResult
) -> None:
    attempts = max(i.attempts for i in items) + 1
    store.mark_failed(items, now, error, now + backoff(attempts))
    result.failed += len(items)
    result.error = error
    log.warning("channel %s refused %d message(s): %s", result.channel, len(items), error)
