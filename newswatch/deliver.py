"""Sends the outbox through apprise channel by channel; one failing channel never blocks others."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from newswatch.errors import DeliveryError
from newswatch.models import Channel, ChannelResult, DeliveryMode, OutboxItem
from newswatch.render import Message, render_digest, render_health, render_instant
from newswatch.services import SERVICES, Service, adapted, scheme, service_for
from newswatch.store.health import Health
from newswatch.store.outbox import Outbox

log = logging.getLogger(__name__)

# How long claimed rows stay ours without news from us: renewed after every message sent. A run
# on the same host takes the rows of a holder that died at once; one on another host, after this.
LEASE = timedelta(minutes=2)
BACKOFF_START = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)
NOTIFY_TIMEOUT = 30.0


Sender = Callable[[Channel, Message], None]  # raises DeliveryError when the channel refuses


def backoff(attempts: int) -> timedelta:
    """Delay before the next try of a row that has failed `attempts` times (1 → 1 min, doubling)."""
    delay: timedelta = BACKOFF_START * (2 ** max(attempts - 1, 0))
    return min(delay, BACKOFF_MAX)


def channel_service(channel: Channel) -> Service:
    """The service family of a channel, checked against its apprise plugin: the format the plugin
    will really send (a `?format=` in the URL can change it) and the plugin's own limits."""
    import apprise  # only a run with something to send pays for loading every plugin
    from apprise.plugins.base import NotifyBase

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


def apprise_send(channel: Channel, message: Message) -> None:
    """Send one message through apprise; DeliveryError (with a secret-free text) if refused."""
    import apprise  # only a run with something to send pays for loading every plugin

    ap = apprise.Apprise()
    if not ap.add(channel.url):
        raise DeliveryError("apprise does not accept this channel URL (check its scheme and form)")
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
        raise DeliveryError(scrub(f"{exc.__class__.__name__}: {exc}", channel.url)) from None
    if int(getattr(result, "status", 0 if result else 1)) != 0:
        refused = "; ".join(problems[-3:]) or "the service refused the message"
        raise DeliveryError(scrub(refused, channel.url))


def _refusal(send: Sender, channel: Channel, message: Message) -> str | None:
    """None when the channel accepted the message; otherwise why it did not."""
    try:
        send(channel, message)
    except DeliveryError as exc:
        return str(exc)
    return None


def scrub(text: str, url: str) -> str:
    """Remove every longer piece of the channel URL (tokens, passwords, paths) from a text."""
    for token in sorted(set(re.split(r"[:/@?&=#]+", url)), key=len, reverse=True):
        if len(token) >= 6 and token.lower() not in ("mailto", "mailtos"):
            text = text.replace(token, "***")
    return text[:500]


def deliver_instant(
    outbox: Outbox, channels: Sequence[Channel], now: datetime, send: Sender = apprise_send
) -> list[ChannelResult]:
    """One message per due row of every instant channel; a failing channel waits with backoff."""
    results = []
    for channel in channels:
        if channel.digest:
            continue
        result = ChannelResult(channel.name, "instant")
        results.append(result)
        if _waiting(outbox, result, now):
            continue
        items = outbox.claim_due(channel.name, "instant", now, LEASE)
        service = channel_service(channel) if items else service_for(channel.url)
        for i, item in enumerate(items):
            dev = outbox.development(item.development_id)
            message = render_instant(dev, service)
            error = _refusal(send, channel, message)
            if error is None:
                outbox.mark_sent([item], now)  # per row, so a crash re-sends at most one message
                outbox.renew(items[i + 1 :], datetime.now(UTC) + LEASE)
                result.sent += 1
                result.messages.append(message.title)
                continue
            _fail(outbox, [item], now, error, result)
            outbox.release(items[i + 1 :])  # do not hammer a channel that just refused
            break
    return results


def deliver_digests(
    outbox: Outbox,
    channels: Sequence[Channel],
    now: datetime,
    *,
    mode: DeliveryMode = "digest",
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
        if due_only and _waiting(outbox, result, now):
            results.append(result)
            continue
        items = outbox.claim_due(
            channel.name, mode, now, LEASE, limit=1000, ignore_schedule=not due_only
        )
        if items:
            devs = [outbox.development(i.development_id) for i in items]
            message = render_digest(
                devs, channel_service(channel), label=label or channel.digest or mode
            )
            error = _refusal(send, channel, message)
            if error is None:
                outbox.mark_sent(items, now)
                result.sent = len(items)
                result.messages.append(message.title)
            else:
                _fail(outbox, items, now, error, result)
        results.append(result)
    return results


def _waiting(outbox: Outbox, result: ChannelResult, now: datetime) -> bool:
    """True (and noted in the result) while the channel is backing off after a refusal."""
    until = outbox.channel_waiting_until(result.channel, result.mode, now)
    if until is not None:
        result.error = f"waiting after a refusal; next try after {until:%Y-%m-%d %H:%M} UTC"
    return until is not None


def _fail(
    outbox: Outbox, items: Sequence[OutboxItem], now: datetime, error: str, result: ChannelResult
) -> None:
    attempts = max(i.attempts for i in items) + 1
    outbox.mark_failed(items, now, error, now + backoff(attempts))
    result.failed += len(items)
    result.error = error
    log.warning("channel %s refused %d message(s): %s", result.channel, len(items), error)


def deliver_health(
    health: Health, channels: Sequence[Channel], now: datetime, send: Sender = apprise_send
) -> list[ChannelResult]:
    """Source alarms and recovery notices to every `health: true` channel, one message each; a
    refusing channel keeps them (with backoff) for a later cycle."""
    results = []
    for channel in channels:
        if not channel.health:
            continue
        result = ChannelResult(channel.name, "health")
        results.append(result)
        notices = health.claim_due(channel.name, now, LEASE)
        service = channel_service(channel) if notices else service_for(channel.url)
        for i, notice in enumerate(notices):
            error = _refusal(send, channel, render_health(notice.title, notice.body, service))
            if error is None:
                health.mark_sent(notice, now)
                result.sent += 1
                result.messages.append(notice.title)
                continue
            rest = notices[i:]
            health.mark_failed(rest, error, now + backoff(max(n.attempts for n in rest) + 1))
            result.failed += len(rest)
            result.error = error
            log.warning("channel %s refused a health notice: %s", channel.name, error)
            break
    return results
