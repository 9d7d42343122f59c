"""Alerts delivered through real apprise to every service family read right and stay inert.

Services whose host can be pointed at loopback get a local receiver; Slack, Discord, Telegram and
Teams get their HTTP request captured at the requests layer (nothing leaves the machine). Each
hostile headline must arrive as literal text (no markup, link, mention, control character), and
each ordinary headline exactly as written, without a single visible backslash.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from newswatch.deliver import apprise_send, channel_service
from newswatch.demo import SmtpReceiver
from newswatch.inert import AT, COLON, DOT, clean
from newswatch.models import Channel, Development
from newswatch.render import render_digest, render_instant
from newswatch.services import Service
from tests.alert_receivers import (
    CatchAll,
    Request,
    Seen,
    captured_http,
    from_discord,
    from_form,
    from_json,
    from_matrix,
    from_ntfy,
    from_slack,
    from_teams,
    from_telegram,
    from_text_key,
    from_xml,
    read_commonmark,
    read_html,
    read_slack,
    read_teams,
    read_text,
)

NOW = datetime(2022, 2, 28, 14, 5, tzinfo=UTC)
ARTICLE = "https://news.example/world/talks?id=7&lang=en"
WIRE = "https://wire.example/b"


@dataclass(frozen=True)
class Case:
    name: str
    url: str  # {port}: the local receiver's
    local: bool  # False: the request is captured at the requests layer
    pick: Callable[[Request], bool]  # the request that carries the message
    fields: Callable[[Request], tuple[str, str]]  # → (title field, body)
    read: Callable[[str, str], Seen]


def _path(fragment: str) -> Callable[[Request], bool]:
    return lambda r: fragment in r.url


CASES = [
    Case("json", "json://127.0.0.1:{port}/hook", True, _path("/hook"), from_json, read_text),
    Case("xml", "xml://127.0.0.1:{port}/hook", True, _path("/hook"), from_xml, read_text),
    Case("form", "form://127.0.0.1:{port}/hook", True, _path("/hook"), from_form, read_text),
    Case(
        "mattermost",
        "mmost://127.0.0.1:{port}/token",
        True,
        _path("/hooks/token"),
        from_text_key("text"),
        read_commonmark,
    ),
    Case(
        "rocketchat",
        "rocket://abcd1234abcd/efgh5678efgh@127.0.0.1:{port}/%23news",
        True,
        _path("/hooks/"),
        from_text_key("text"),
        read_commonmark,
    ),
    Case(
        "ntfy", "ntfy://127.0.0.1:{port}/news", True, lambda r: r.url == "/", from_ntfy, read_text
    ),
    Case(
        "gotify", "gotify://127.0.0.1:{port}/token", True, _path("/message"), from_json, read_text
    ),
    Case(
        "gotify-markdown",
        "gotify://127.0.0.1:{port}/token?format=markdown",
        True,
        _path("/message"),
        from_json,
        read_commonmark,
    ),
    Case(
        "signal",
        "signal://127.0.0.1:{port}/+12025550101/+12025550102",
        True,
        _path("/v2/send"),
        from_text_key("message"),
        read_text,
    ),
    Case(
        "matrix",
        "matrix://bot:secret@127.0.0.1:{port}/%23news",
        True,
        _path("/send/m.room.message/"),
        from_matrix,
        read_html,
    ),
    Case(
        "slack",
        "slack://T1ABCDEFG/B1ABCDEFG/abcdefghijklmnopqrstuvwx/%23desk",
        False,
        _path("hooks.slack.com"),
        from_slack,
        read_slack,
    ),
    Case(
        "discord",
        "discord://123456789012345678/abcdefghijklmnopqrstuvwxyz",
        False,
        _path("discord.com"),
        from_discord,
        read_commonmark,
    ),
    Case(
        "telegram",
        "tgram://123456789:abcdefghijklmnopqrstuvwxyzABCDEFGHI/987654321",
        False,
        _path("/sendMessage"),
        from_telegram,
        read_html,
    ),
    Case(
        "teams",
        "workflows://prod-00.westus.logic.azure.com:443/abc123def456/sigsigsig",
        False,
        _path("logic.azure.com"),
        from_teams,
        read_teams,
    ),
]

HOSTILE = {
    "links": "Talks [click here](http://evil.example/x) ![img](https://evil.example/i.png) end",
    "raw-html": "<script>alert(1)</script> <a href='https://evil.example'>x</a> <b>bold</b> &amp;",
    "template": "{{ 7*7 }} {% for x in y %} ${SLACK_TOKEN} <%= 7*7 %>",
    "mentions": "@everyone @here @channel @all @room <!channel> <!here> <!everyone> "
    "<@U123ABC> <@!4242> <@&987654> <#C024BE7LR> <at>Someone</at> @admin:matrix.org @durov",
    "bidi": "Talks \u202eevil\u202c end \u2066x\u2069 \u200e\u200f\u061c \u202a\u202b\u202d",
    "zero-width": "ev\u200bil\u200c.\u200dexample \u2060@\ufeffeveryone \u00adsoft",
    "controls": "bell\x07 esc\x1b[31m red \x85 c1\x9b end\x00",
    "emphasis": "*bold* _it_ ~strike~ `code` ```block``` **x** __y__ ||spoiler||",
    "bare-urls": "see https://evil.example/login or www.evil.example or evil.example/path",
    "newlines": "first line\nsecond line\r\n# heading\n- item\n> quote\n1. one",
    "backslashes": "a \\*b\\* c \\[d\\](e) \\\\ f",
}
ORDINARY = [
    "Russia-Ukraine build-up: U.S. and EU draft (v2) plan is #1 with 50% backing",
    "It's the northlight-news team's 3rd report... 'Quoted' \u201ccurly\u201d",
    "Talks end; ceasefire holds! Are we there? Not yet (officials say) 2.5% + $5bn = \u20ac3bn",
]


def development(title: str, text: tuple[str, ...] | None = None, **kw: object) -> Development:
    base: dict[str, object] = dict(
        fingerprint="f",
        kind="new_story",
        topic="talks",
        source="harbour",
        url=ARTICLE,
        title=title,
        text=(title,) if text is None else text,
        published=NOW,
        detected=NOW,
        terms=("talks",),
        outlets=("harbour", "northlight-news"),
        links=(("wire", WIRE),),
    )
    base.update(kw)
    return Development(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def receiver() -> Iterator[CatchAll]:
    server = CatchAll()
    yield server
    server.close()


def deliver(case: Case, receiver: CatchAll, dev: Development) -> tuple[Seen, Service]:
    """Render `dev` for the case's service and send it through apprise; what its reader sees."""
    channel = Channel(case.name, case.url.format(port=receiver.port), ("talks",))
    service = channel_service(channel)
    message = render_instant(dev, service)
    if case.local:
        receiver.requests.clear()
        apprise_send(channel, message)
        sent = receiver.requests
    else:
        with captured_http() as sent:
            apprise_send(channel, message)
    [request] = [r for r in sent if case.pick(r)]
    title, body = case.fields(request)
    return case.read(title, body), service


_BACK = str.maketrans({"\u2217": "*", "\u02cd": "_", "\u223c": "~", "\u02cb": "`", "\u29f5": "\\"})
_BACK.update(str.maketrans({"\u27e6": "[", "\u27e7": "]", "\u2039": "<", "\u203a": ">"}))


def as_written(text: str) -> str:
    """Visible text with look-alikes mapped back and spaces collapsed, to compare with the page."""
    return " ".join(text.translate(_BACK).split())


def assert_inert(seen: Seen, service: Service, ours: set[str], page: str = "") -> None:
    for part in (seen.title, seen.raw):
        assert not [c for c in part if unicodedata.category(c) == "Cf"], ascii(part)
        assert not [c for c in part if unicodedata.category(c) == "Cc" and c not in "\r\n"]
    assert "\n" not in seen.title and len(seen.title) <= service.title_max
    assert len(seen.raw) <= service.body_max
    assert set(seen.links) <= ours, seen.links
    for visible in (seen.title, seen.text):
        if "\\" not in page:  # the page's own backslashes are shown, as written (case below)
            assert "\\" not in visible
        assert "@" not in visible, visible  # every mention sigil arrives as the fullwidth ＠
        assert (
            "://evil" not in visible and "evil.example" not in visible and "www.evil" not in visible
        )
        assert "49" not in visible


@pytest.mark.parametrize("hostile", list(HOSTILE), ids=list(HOSTILE))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_page_text_arrives_inert(case: Case, hostile: str, receiver: CatchAll) -> None:
    text = HOSTILE[hostile]
    seen, service = deliver(case, receiver, development(text, outlets=(text[:60],)))
    ours = {ARTICLE, WIRE, ARTICLE.replace("&", "&amp;"), WIRE}
    assert_inert(seen, service, ours, text)
    expected = clean(text, 60)  # the headline as the reader must see it: literal, cleaned
    assert as_written(expected.rstrip("…")) in as_written(seen.title + " " + seen.text)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_huge_title_and_newlines_are_cut_to_the_service_limits(
    case: Case, receiver: CatchAll
) -> None:
    title = "Talks\n<b>resume</b> " + "[x](http://evil.example) @everyone \u202e" * 3000
    seen, service = deliver(case, receiver, development(title, ("Delegations met. " * 500,)))
    assert_inert(seen, service, {ARTICLE, WIRE, ARTICLE.replace("&", "&amp;")})
    assert "Talks <b>resume</b>" in as_written(seen.title + " " + seen.text)
    assert "…" in seen.title + seen.text
    assert ARTICLE in seen.links or ARTICLE.replace("&", "&amp;") in seen.links  # link survives


@pytest.mark.parametrize("headline", ORDINARY)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_ordinary_headlines_arrive_exactly_without_backslashes(
    case: Case, headline: str, receiver: CatchAll
) -> None:
    seen, _ = deliver(case, receiver, development(headline, (headline, "Delegations met.")))
    visible = " ".join((seen.title + " " + seen.text).split())
    assert headline in visible
    assert "\\" not in visible
    assert "northlight-news" in visible
    assert ARTICLE in seen.links or ARTICLE.replace("&", "&amp;") in seen.links


def test_figure_lines_are_bold_where_the_format_has_bold(receiver: CatchAll) -> None:
    line = "fled: more than 500,000 → about 660,000"
    figures = [{"measure": "fled", "before": "more than 500,000", "after": "about 660,000"}]
    dev = development("Half a million fled", (line,), kind="figure", reason={"figures": figures})
    bodies = {}
    for case in CASES:
        seen, _ = deliver(case, receiver, dev)
        bodies[case.name] = seen.raw
    assert f"**{line}**" in bodies["mattermost"] and f"**{line}**" in bodies["discord"]
    assert f"*{line}*" in bodies["slack"] and f"**{line}**" not in bodies["slack"]
    assert f"<b>{line}</b>" in bodies["telegram"] and f"<b>{line}</b>" in bodies["matrix"]
    assert f"> {line}" in bodies["json"] and "*" not in bodies["json"]


def test_slack_gets_mrkdwn_with_entities_not_backslashes(receiver: CatchAll) -> None:
    [case] = [c for c in CASES if c.name == "slack"]
    seen, _ = deliver(case, receiver, development("<!channel> a_b *c* & <@U1|x>"))
    assert "&lt;!channel&gt;" in seen.raw and "<!channel>" not in seen.raw
    assert "\\" not in seen.raw
    assert "a\u02cdb \u2217c\u2217 &amp; &lt;" + AT + "U1|x&gt;" in seen.raw


def test_discord_mentions_are_disarmed_in_the_text(receiver: CatchAll) -> None:
    # apprise sends no allowed_mentions for plain content, so the text itself must not ping.
    [case] = [c for c in CASES if c.name == "discord"]
    with captured_http() as sent:
        channel = Channel("d", case.url, ("talks",))
        message = render_instant(development("@everyone <@&1> <@2>"), channel_service(channel))
        apprise_send(channel, message)
    payload = sent[0].json()
    assert "allowed_mentions" not in payload
    content = payload["content"]
    assert "@everyone" not in content and "<@" not in content
    assert f"{AT}everyone \\<{AT}&1\\> \\<{AT}2\\>" in content


def test_neutralisers_look_like_what_they_replace() -> None:
    assert clean("@here http://evil.example", 100) == f"{AT}here http{COLON}//evil{DOT}example"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.mark.parametrize(
    "hostile", [*HOSTILE.values(), *ORDINARY], ids=[*HOSTILE, "o1", "o2", "o3"]
)
def test_email_has_html_and_text_parts_both_with_the_link(hostile: str, smtp: SmtpReceiver) -> None:
    smtp.clear()
    channel = Channel("mail", smtp.apprise_url(), ("talks",))
    service = channel_service(channel)
    assert service.family == "email"
    apprise_send(channel, render_instant(development(hostile), service))
    assert smtp.wait_for(1)
    [mail] = smtp.messages
    subject = " ".join(str(mail["subject"]).split())
    html_seen = read_html("", str(mail["html"]))
    text = str(mail["text"])
    assert ARTICLE in text and WIRE in text  # the plain-text part carries every link
    assert set(html_seen.links) == {ARTICLE, WIRE}
    assert subject.startswith("[talks] New story: ")
    expected = as_written(clean(hostile, 60).rstrip("…"))
    for visible in (subject, html_seen.text, text):
        assert expected in as_written(visible)
        assert "@" not in visible.replace("newswatch@example.org", "")
        assert not [c for c in visible if unicodedata.category(c) == "Cf"]
    assert "<script" not in str(mail["html"])


def test_digest_fits_the_service_and_says_what_it_left_out(receiver: CatchAll) -> None:
    [case] = [c for c in CASES if c.name == "rocketchat"]  # 1000 characters
    channel = Channel("r", case.url.format(port=receiver.port), ("talks",))
    service = channel_service(channel)
    devs = [development(f"Story {i} [x](http://evil.example)") for i in range(30)]
    message = render_digest(devs, service, "daily 08:00")
    assert len(message.body) <= service.body_max
    assert re.search(r"… and \d+ more not shown here$", message.body)
    receiver.requests.clear()
    apprise_send(channel, message)
    [request] = [r for r in receiver.requests if case.pick(r)]
    seen = read_commonmark("", request.json()["text"])
    assert "newswatch digest (daily 08:00): 30 developments" in seen.text
    assert set(seen.links) <= {ARTICLE, WIRE}
