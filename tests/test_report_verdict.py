"""How a run went, in one word: the verdict behind Prefect states and exit codes (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newswatch.errors import StoreError, TransientFetchError
from newswatch.models import ChannelResult
from newswatch.report import PARTIAL, RunReport, SourceReport


def source(name: str, error: Exception | None = None, store: bool = False) -> SourceReport:
    rep = SourceReport(name, "feed")
    if error and store:
        rep.store_failure(error)
    elif error:
        rep.fail(error)
    return rep


def run(*sources: SourceReport, channels: tuple[ChannelResult, ...] = ()) -> RunReport:
    rep = RunReport("monitor", datetime.now(UTC), store="sqlite:////x/nw.db")
    rep.sources, rep.deliveries = list(sources), list(channels)
    return rep


DOWN = TransientFetchError("HTTP 500 after 3 attempt(s)", url="https://a.example/f")
FULL = StoreError("store sqlite:////x/nw.db: write failed: database or disk is full")
REFUSED = ChannelResult("chat", "instant", failed=2, error="refused")


@pytest.mark.parametrize(
    ("report", "level", "needle"),
    [
        (run(source("a"), source("b")), "ok", "2 source(s), 0 failed"),
        (run(source("a", DOWN), source("b")), "partial", "1 of 2 source(s) failed: a"),
        (run(source("a"), channels=(REFUSED,)), "partial", "channel(s) waiting for retry: chat"),
        (run(source("a", DOWN), source("b", DOWN)), "failed", "every source failed: a (Trans"),
        (run(source("a", FULL, store=True), source("b")), "failed", "the store failed (sqlite"),
        (run(channels=(REFUSED,)), "partial", "chat"),  # a digest run: no sources
    ],
    ids=["ok", "one-source", "one-channel", "all-sources", "store", "digest"],
)
def test_verdict(report: RunReport, level: str, needle: str) -> None:
    verdict = report.verdict()
    assert verdict.level == level and needle in verdict.message, verdict


def test_messages_not_rows_are_counted_as_sent() -> None:
    digest = ChannelResult("mail", "digest", sent=5, messages=["digest of 5"])
    instant = ChannelResult("chat", "instant", sent=2, messages=["one", "two"])
    report = run(source("a"), channels=(digest, instant))
    assert report.messages_sent == 3
    assert "3 message(s) sent" in report.summary()
    assert PARTIAL == "Completed with failures"
