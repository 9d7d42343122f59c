"""End to end through the CLI: durable delivery under kill -9 and concurrency, digests, backfill.

Every test drives `newswatch` processes against the bundled news-day site and asserts on what
the local chat webhook and SMTP server received. Where time has to pass (a channel's backoff),
the test moves the stored time into the past instead of waiting.
"""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newswatch.demo import SmtpReceiver
from newswatch.render import KIND_LABEL
from tests.e2e_support import (
    CLI_TIMEOUT,
    GATE_TIMEOUT,
    PAUSE_TOPIC,
    PAUSE_URL,
    Gate,
    GatedSite,
    HeldWebhook,
    Rendezvous,
    World,
    copy_store,
    demo_channels,
    pass_time,
    query,
    repeated,
    write_config,
)

CHAT_TOPICS = ("talks", "sanctions", "refugees")  # desk-chat in config/demo.yaml
MAIL_TOPICS = ("sanctions", "refugees")  # editor-email

# What each monitor cycle reports after the baseline at step 0, as (topic, kind, item), for the
# steps these tests run; a jump from step 0 to step 3 reports all of steps 1-3 at once.
STEPS_1_TO_3 = (
    ("talks", "new_story", "nl-talks-end"),
    ("talks", "update", "live"),
    ("sanctions", "new_story", "mw-airspace"),
    ("sanctions", "update", "live"),
    ("refugees", "new_story", "nl-refugees"),
    ("refugees", "update", "live"),
)
CYCLES = {  # cycle at step → what it reports, when the previous cycle ran at the previous key
    2: STEPS_1_TO_3[:4],
    3: STEPS_1_TO_3[4:],
    5: (("talks", "new_story", "mw-putin-macron"), ("refugees", "figure", "live")),
}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with GatedSite() as site, HeldWebhook() as hook, SmtpReceiver() as smtp:
        yield World(site, hook, smtp)


@pytest.fixture(scope="module")
def baselined(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory whose store has had its baseline cycle at step 0 (tests work on copies)."""
    cwd = tmp_path_factory.mktemp("baseline")
    world.reset()
    out = world.run(cwd, 0)
    assert "baseline" in out and world.hook.messages == [] and world.smtp.messages == []
    return cwd


@pytest.fixture
def w(world: World) -> Iterator[World]:
    world.reset()
    yield world
    world.reset()


@pytest.fixture
def monitored(baselined: Path, tmp_path: Path) -> Path:
    """A working directory holding a copy of the baselined store."""
    copy_store(baselined, tmp_path)
    return tmp_path


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=CLI_TIMEOUT)
    return proc.returncode, err.decode(errors="replace")


def kill_when(proc: subprocess.Popen[bytes], gate: Gate) -> None:
    """SIGKILL the process once it reaches the gate (or fail, killing it anyway)."""
    try:
        assert gate.reached.wait(GATE_TIMEOUT), "the run never reached the point to kill it at"
        assert proc.poll() is None, "the run ended before it could be killed"
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=CLI_TIMEOUT)
        gate.open()
    assert proc.returncode == -signal.SIGKILL


def pending_rows(cwd: Path) -> int:
    return int(query(cwd, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'")[0][0])


# --- 1. kill -9 --------------------------------------------------------------------------------


def test_kill_9_mid_delivery_repeats_at_most_the_message_in_flight(
    w: World, monitored: Path
) -> None:
    expected_chat = w.titles(STEPS_1_TO_3, CHAT_TOPICS)
    expected_mail = w.titles(STEPS_1_TO_3, MAIL_TOPICS)
    gate = w.hook.hold_at(2)  # the 2nd chat post arrives, its reply never leaves
    w.site.set_step(3)
    kill_when(w.spawn(monitored, "run"), gate)
    first, in_flight = w.chat()
    assert w.mail() == []  # email comes after chat in the delivery order

    # Restarted at once: the dead run's claims name a process that is gone, so this run takes
    # its rows without waiting for their lease.
    w.run(monitored, 3)
    chat = w.chat()
    assert set(chat) == expected_chat, chat
    assert repeated(chat) in ([], [in_flight]), chat  # only the message in flight may repeat
    assert chat.count(first) == 1
    assert sorted(w.mail()) == sorted(expected_mail)
    assert pending_rows(monitored) == 0


def test_kill_9_while_fetching_loses_and_repeats_nothing(w: World, monitored: Path) -> None:
    """Killed while a source waits on an article, after other developments were stored."""
    gate = w.site.hold_path(w.site.newsday.story("nl-refugees").slug)
    w.site.set_step(3)
    kill_when(w.spawn(monitored, "run"), gate)
    assert w.chat() == [] and w.mail() == []  # delivery comes after every source
    stored = query(monitored, "SELECT title FROM developments")
    assert stored, "the scenario needs developments stored before the kill"

    w.site.hold_path(None)
    w.run(monitored, 3)
    assert sorted(w.chat()) == sorted(w.titles(STEPS_1_TO_3, CHAT_TOPICS))
    assert sorted(w.mail()) == sorted(w.titles(STEPS_1_TO_3, MAIL_TOPICS))


# --- 2. two cycles at once -------------------------------------------------------------------


def test_two_cycles_at_once_on_one_store_alert_each_development_once(
    w: World, monitored: Path
) -> None:
    configs = [write_config(monitored / f"{n}.yaml", user_agent=f"nw-e2e-{n}") for n in "ab"]
    w.site.meet(2)  # the site answers nobody until both processes have asked: they overlap
    w.site.set_step(3)
    gate = w.hook.hold_at(1)  # the first process to deliver stops inside its first chat post
    procs = [w.spawn(monitored, "run", config=c) for c in configs]
    try:
        assert gate.reached.wait(GATE_TIMEOUT), "no process reached delivery"
        # Meanwhile the other one delivers too: it must leave the claimed chat rows alone.
        assert w.smtp.wait_for(len(w.titles(STEPS_1_TO_3, MAIL_TOPICS)), GATE_TIMEOUT)
    finally:
        gate.open()
        results = [finish(p) for p in procs]
    assert [rc for rc, _ in results] == [0, 0], results
    assert sorted(w.chat()) == sorted(w.titles(STEPS_1_TO_3, CHAT_TOPICS))
    assert sorted(w.mail()) == sorted(w.titles(STEPS_1_TO_3, MAIL_TOPICS))


def test_two_shards_carrying_one_story_at_once_alert_it_once(w: World, monitored: Path) -> None:
    """Sources split across two deployments (SPEC 7); each outlet's copy reaches one of them.

    Both processes are lined up after detection and before storing (a fault-injection point
    in tests/e2e_support.py), the moment where one cycle cannot yet see the other's story.
    """
    shards = [
        write_config(monitored / "northlight.yaml", sources=["northlight-news"]),
        write_config(monitored / "meridian.yaml", sources=["meridian-sitemap"]),
    ]
    w.site.set_step(4)  # both outlets' copies of the second-round talks story are new
    with Rendezvous(2) as meet:
        env = {PAUSE_URL: meet.url, PAUSE_TOPIC: "talks"}
        procs = [w.spawn(monitored, "run", config=c, extra_env=env) for c in shards]
        results = [finish(p) for p in procs]
    assert [rc for rc, _ in results] == [0, 0], results
    assert len(meet.met) == 2, "both cycles must have been lined up before storing"
    second_round = [t for t in w.chat() if "second round" in t.lower()]
    assert len(second_round) == 1, second_round


# --- 3. digests --------------------------------------------------------------------------------

_MD_HEADING = re.compile(r"^## (.+?) \\?\((\d+)\\?\)$", re.M)
_HTML_HEADING = re.compile(r"<h2>(.+?) \((\d+)\)</h2>")
_MD_ESCAPE = re.compile(r"\\(.)")
_TAG = re.compile(r"<[^>]+>")


def digest_sections(body: str, email: bool) -> dict[str, tuple[int, str]]:
    """A digest body by topic heading → (count in the heading, the section as plain text)."""
    heading = _HTML_HEADING if email else _MD_HEADING
    marks = list(heading.finditer(body))
    sections = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        text = body[m.end() : end]
        text = html.unescape(_TAG.sub(" ", text)) if email else _MD_ESCAPE.sub(r"\1", text)
        sections[_MD_ESCAPE.sub(r"\1", m.group(1))] = (int(m.group(2)), text.replace("**", ""))
    return sections


def assert_digest(body: str, email: bool, devs: Sequence[tuple[str, str, str]]) -> None:
    """Grouped by topic: one heading per topic with its count, each development under it."""
    sections = digest_sections(body, email)
    topics = {topic for topic, _, _ in devs}
    assert set(sections) == topics, body
    for topic in topics:
        count, text = sections[topic]
        assert count == sum(1 for d in devs if d[0] == topic), body
        for _, label, headline in (d for d in devs if d[0] == topic):
            assert re.search(rf"{topic} · {label}:\s+{re.escape(headline)}", text), (headline, text)


def headline_of(w: World, item: str) -> str:
    day = w.site.newsday
    return day.live.title if item == "live" else day.story(item).headline


def digest_config(w: World, path: Path) -> Path:
    """desk-chat instant; editor-email and a second webhook channel as daily digests.

    The digest time lies 12 hours ahead, so it cannot come due while the test runs.
    """
    at = (datetime.now(UTC) + timedelta(hours=12)).strftime("%H:%M")
    chat, email = demo_channels()
    digest = {"name": "desk-digest", "url": w.hook.url + "digest", "topics": list(CHAT_TOPICS)}
    channels = [chat, {**email, "digest": f"daily {at}"}, {**digest, "digest": f"daily {at}"}]
    return write_config(path, channels=channels)


def test_digest_collects_over_cycles_then_sends_one_message_per_channel(
    w: World, monitored: Path
) -> None:
    config = digest_config(w, monitored / "digest.yaml")
    for step in CYCLES:
        w.run(monitored, step, config)
    everything = [e for step in CYCLES for e in CYCLES[step]]
    assert sorted(w.chat()) == sorted(w.titles(everything, CHAT_TOPICS))  # instant goes on
    assert w.chat("/digest") == [] and w.mail() == []  # the digest channels only collect

    w.cli(monitored, "digest", "--due-only", config=config)
    assert w.chat("/digest") == [] and w.mail() == []  # their time has not come

    w.cli(monitored, "digest", config=config)
    digests = [m for m in w.hook.messages if m["path"] == "/digest"]
    assert len(digests) == 1 and len(w.smtp.messages) == 1
    devs = [(t, KIND_LABEL[k], headline_of(w, i)) for t, k, i in everything]
    assert_digest(str(digests[0]["body"]), False, devs)
    assert_digest(str(w.smtp.messages[0]["html"]), True, [d for d in devs if d[0] in MAIL_TOPICS])

    w.cli(monitored, "digest", config=config)  # everything was sent: empty digests are not
    assert len(w.chat("/digest")) == 1 and len(w.mail()) == 1
    assert len(w.chat()) == len(everything)


# --- 4. backfill -------------------------------------------------------------------------------

_FOUND = re.compile(r"^\s+\+ \[(\w+)\] (\w+): (.*) <\S+>$", re.M)


def found(stdout: str) -> list[tuple[str, str, str]]:
    """The developments a run printed, as (topic, kind label, headline)."""
    return [(t, KIND_LABEL[k], h) for t, k, h in _FOUND.findall(stdout)]


def backfill(w: World, cwd: Path, *extra: str) -> str:
    w.site.set_step(w.site.steps - 1)  # the end of the news day: everything is on the site
    return w.cli(cwd, "backfill", "--since", "1d", *extra).stdout


def test_backfill_sends_one_digest_per_channel_once_and_is_no_baseline(
    w: World, tmp_path: Path
) -> None:
    devs = found(backfill(w, tmp_path))
    headlines = {h for _, _, h in devs}
    for item in ("nl-talks-end", "mw-airspace", "nl-refugees", "mw-putin-macron"):
        assert headline_of(w, item) in headlines, devs
    assert len(w.hook.messages) == 1 and len(w.smtp.messages) == 1
    assert "backfill" in w.chat()[0] and "backfill" in w.mail()[0]
    assert_digest(str(w.hook.messages[0]["body"]), False, devs)
    assert_digest(str(w.smtp.messages[0]["html"]), True, [d for d in devs if d[0] in MAIL_TOPICS])

    assert found(backfill(w, tmp_path)) == []  # the same backfill again: nothing new
    out = w.run(tmp_path, w.site.steps - 1)  # backfill was not the baseline: this cycle is
    assert "baseline" in out
    assert len(w.hook.messages) == 1 and len(w.smtp.messages) == 1


def test_backfill_notify_none_records_and_sends_nothing(w: World, tmp_path: Path) -> None:
    devs = found(backfill(w, tmp_path, "--notify", "none"))
    assert devs and w.hook.messages == [] and w.smtp.messages == []
    stored = query(tmp_path, "SELECT topic, title FROM developments")
    assert sorted(stored) == sorted((t, h) for t, _, h in devs)
    assert query(tmp_path, "SELECT COUNT(*) FROM outbox") == [(0,)]


def test_backfill_notify_instant_sends_one_message_per_development(
    w: World, tmp_path: Path
) -> None:
    devs = found(backfill(w, tmp_path, "--notify", "instant"))
    assert devs
    subjects = [f"[{t}] {label}: {h}" for t, label, h in devs]
    assert sorted(w.chat()) == sorted(subjects)
    assert sorted(w.mail()) == sorted(
        s for s, d in zip(subjects, devs, strict=True) if d[0] in MAIL_TOPICS
    )


def test_a_narrow_backfill_does_not_blind_the_baseline(w: World, tmp_path: Path) -> None:
    """The feed validators a backfill keeps must not make the baseline skip the older items."""
    w.site.set_step(3)
    since = w.site.time_of_step(2).isoformat()  # only what step 3 added
    w.cli(tmp_path, "backfill", "--since", since, "--notify", "none")
    assert "baseline" in w.run(tmp_path, 3)
    w.run(tmp_path, 4)  # the news day says nothing at step 4 may alert
    assert w.chat() == [] and w.mail() == []


def test_a_refused_backfill_digest_is_retried_by_a_later_cycle(w: World, tmp_path: Path) -> None:
    """SPEC 5: alerts wait until the channel accepts them, backfill digests included."""
    w.hook.refuse(1)
    backfill(w, tmp_path)
    assert w.chat() == [] and len(w.mail()) == 1  # chat refused; email was not held up
    pass_time(tmp_path, "next_attempt_at")  # the backoff is over
    w.run(tmp_path, w.site.steps - 1)
    assert len(w.chat()) == 1 and "backfill" in w.chat()[0]


# --- 5. a channel that refuses for a while ----------------------------------------------------


def sent_order(cwd: Path, channel: str) -> list[str]:
    """The channel's alert titles in outbox order (the order developments were recorded)."""
    rows = query(
        cwd,
        "SELECT d.topic, d.kind, d.title FROM outbox o JOIN developments d "
        "ON d.id = o.development_id WHERE o.channel = ? ORDER BY o.id",
        channel,
    )
    return [f"[{t}] {KIND_LABEL[k]}: {h}" for t, k, h in rows]


def test_a_refusing_channel_gets_every_held_alert_once_in_order(w: World, monitored: Path) -> None:
    w.hook.refuse(3)
    mail_so_far: list[str] = []
    for step, devs in CYCLES.items():  # three cycles, the webhook refuses once in each
        w.run(monitored, step)
        mail_so_far += w.titles(devs, MAIL_TOPICS)
        assert w.chat() == [] and sorted(w.mail()) == sorted(mail_so_far)
        pass_time(monitored, "next_attempt_at")  # the channel's backoff is over
    assert w.hook.refused == 3

    w.run(monitored, 5)
    chat = w.chat()
    held = [w.titles(devs, CHAT_TOPICS) for devs in CYCLES.values()]
    assert [set(chat[:4]), set(chat[4:6]), set(chat[6:])] == held  # cycle by cycle
    assert chat == sent_order(monitored, "desk-chat")  # and in the order they were recorded
    assert repeated(chat) == [] and pending_rows(monitored) == 0
    assert sorted(w.mail()) == sorted(mail_so_far)
