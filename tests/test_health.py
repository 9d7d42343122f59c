"""Source health decisions (pure) and how a health notice is written for each kind of channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newswatch.health import assess
from newswatch.models import FetchSettings, SourceHealth
from newswatch.render import render_health
from newswatch.services import service_for

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
DAY = timedelta(days=1)
SETTINGS = FetchSettings(alarm_after=3, silent_after=2 * 86400)
OK = SourceHealth("wire", baselined_at=NOW - 5 * DAY, last_ok_at=NOW, last_new_at=NOW)


@pytest.mark.parametrize(
    ("state", "settings", "expected"),
    [
        (OK, SETTINGS, None),
        (SourceHealth("wire", failures=2, last_error="x"), SETTINGS, None),
        (SourceHealth("wire", failures=3, last_error="HTTP 500"), SETTINGS, ("alarm", "failing")),
        (
            SourceHealth("wire", failures=9),
            FetchSettings(alarm_after=0, silent_after=0),
            None,
        ),  # 0: never
        (SourceHealth("wire", failures=5, alarm="failing"), SETTINGS, None),  # once per episode
        (
            SourceHealth("wire", alarm="failing", alarm_at=NOW - DAY),
            SETTINGS,
            ("recovery", "failing"),
        ),
        (
            SourceHealth("wire", baselined_at=NOW - 5 * DAY, last_new_at=NOW - 3 * DAY),
            SETTINGS,
            ("alarm", "silent"),
        ),
        (SourceHealth("wire", baselined_at=NOW - 3 * DAY), SETTINGS, ("alarm", "silent")),
        (SourceHealth("wire", baselined_at=NOW - DAY), SETTINGS, None),
        (
            SourceHealth("wire", last_new_at=NOW - 3 * DAY, alarm="silent", alarm_at=NOW - DAY),
            SETTINGS,
            None,
        ),
        (
            SourceHealth("wire", last_new_at=NOW, alarm="silent", alarm_at=NOW - DAY),
            SETTINGS,
            ("recovery", "silent"),
        ),
    ],
)
def test_assess(
    state: SourceHealth, settings: FetchSettings, expected: tuple[str, str] | None
) -> None:
    change = assess(state, settings, NOW)
    got = (change.kind, change.alarm) if change else None
    assert got == expected, change


@pytest.mark.parametrize(
    ("url", "needle", "absent"),
    [
        ("json://hooks.example.org/", "[health] <b>x</b> is failing", None),
        ("slack://T1/B2/C3/#ops", "is failing", "<b>"),
        ("discord://1234/abcd", "is failing", "**x**"),
        ("mailto://u:p@example.org", "&lt;b&gt;x&lt;/b&gt;", "<b>x</b>"),
    ],
)
def test_a_health_notice_is_inert_on_every_service(
    url: str, needle: str, absent: str | None
) -> None:
    message = render_health(
        "[health] <b>x</b> is failing", "<b>x</b> failed 3 cycle(s)", service_for(url)
    )
    text = message.field_title + "\n" + message.body
    assert needle in text, text
    if absent:
        assert absent not in message.body, message.body
