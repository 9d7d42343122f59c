"""Messages carry page text inertly: no markup, links or template code can come through."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from newswatch.models import Development
from newswatch.render import EMAIL, md_escape, render_digest, render_instant, safe_link
from newswatch.services import service_for

NOW = datetime(2022, 2, 28, 14, 5, tzinfo=UTC)
MD = service_for("mmost://localhost/token")  # a CommonMark chat


def dev(
    title: str = "Talks end", text: tuple[str, ...] = ("Delegations return.",), **kw
) -> Development:
    base = dict(
        fingerprint="f",
        kind="new_story",
        topic="talks",
        source="harbour",
        url="https://e.org/a",
        title=title,
        text=text,
        published=NOW,
        detected=NOW,
        terms=("talks",),
        outlets=("harbour",),
    )
    base.update(kw)
    return Development(**base)


@pytest.mark.parametrize(
    "hostile",
    [
        "[click](https://evil.example/)",
        "**bold** _it_ `code` # heading",
        "<script>alert(1)</script>",
        "{{ config.SECRET }} {% for x in y %}",
        "![img](https://evil.example/x.png)",
    ],
)
def test_markdown_body_escapes_page_text(hostile: str) -> None:
    body = render_instant(dev(title=hostile, text=(hostile,)), service=MD).body
    quoted = [line[2:] for line in body.splitlines() if line.startswith("> ")]
    headline = body.splitlines()[0].split(":** ", 1)[1]
    for page_text in [*quoted, headline]:
        unescaped = re.sub(r"\\.", "", page_text)  # drop every backslash-escaped character
        assert not set(unescaped) & set("[]*_`<>"), page_text


def test_markdown_escape_roundtrip_has_no_live_link() -> None:
    assert md_escape("[x](http://a)") == "\\[x\\](http\u2236//a)"


@pytest.mark.parametrize(
    "hostile",
    ["<script>alert(1)</script>", '<a href="javascript:x">y</a>', "<img src=x onerror=alert(1)>"],
)
def test_html_body_escapes_page_text(hostile: str) -> None:
    msg = render_instant(dev(title=hostile, text=(hostile,)), service=EMAIL)
    assert msg.body_format == "html"
    assert (
        "<script>" not in msg.body
        and "<img" not in msg.body
        and '<a href="javascript' not in msg.body
    )
    assert "&lt;" in msg.body


@pytest.mark.parametrize(
    "url,ok",
    [
        ("https://e.org/a?b=1", True),
        ("javascript:alert(1)", False),
        ("data:text/html,x", False),
        ('https://e.org/a"><script>', True),
    ],
)
def test_safe_link(url: str, ok: bool) -> None:
    link = safe_link(url)
    assert bool(link) is ok
    assert '"' not in link and "<" not in link and ">" not in link


def test_subject_is_one_line_and_capped() -> None:
    msg = render_instant(dev(title="a\nb" * 500), service=EMAIL)
    assert "\n" not in msg.title and len(msg.title) <= 200


def test_digest_groups_by_topic_in_order() -> None:
    devs = [
        dev(topic="talks"),
        dev(topic="refugees", title="Half a million fled"),
        dev(topic="talks", title="Second round"),
    ]
    msg = render_digest(devs, MD, label="daily 08:00")
    assert msg.body.index("talks (2)") < msg.body.index("refugees (1)")
    assert "3 developments" in msg.title
    html = render_digest(devs, EMAIL, label="hourly").body
    assert html.count("<h2>") == 2


def test_every_outlet_is_linked_and_escaped() -> None:
    d = dev(
        outlets=("harbour", "wire"),
        links=(("wire", "https://w.example/b?x=1"), ("evil", "javascript:x")),
    )
    chat = render_instant(d, service=MD).body
    assert "also wire: <https://w.example/b?x=1>" in chat and "javascript" not in chat
    mail = render_instant(d, service=EMAIL).body
    assert 'href="https://w.example/b?x=1"' in mail and "javascript" not in mail


def test_figure_change_line_stands_out() -> None:
    line = "fled: more than 500,000 → about 660,000"
    d = dev(
        kind="figure",
        text=(line, "About 660,000 have fled."),
        reason={
            "figures": [
                {
                    "measure": "fled",
                    "before": "more than 500,000",
                    "after": "about 660,000",
                    "sentence": "About 660,000 have fled.",
                }
            ]
        },
    )
    assert "> **fled: more than 500,000 → about 660,000**" in render_instant(d, service=MD).body
    assert "<b>fled: more than 500,000 → about 660,000</b>" in render_instant(d, service=EMAIL).body


INVISIBLE = [chr(c) for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)]] + [
    *map(chr, range(0x202A, 0x202F)),
    *map(chr, range(0x2066, 0x206A)),
    "\u200e",
    "\u200f",
    "\u061c",
    *map(chr, range(0x200B, 0x200E)),
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\U000e0041",
]


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_controls_bidi_and_zero_width_characters_never_reach_a_message(char: str) -> None:
    headline = f"Talks{char}resume{char}"
    for service in (MD, EMAIL, service_for("slack://a/b/c"), service_for("json://h")):
        msg = render_instant(dev(title=headline, text=(headline,), outlets=(headline,)), service)
        assert char not in msg.title and char not in msg.body.replace("\n", "")
        assert "Talks" in msg.title and "resume" in msg.title
