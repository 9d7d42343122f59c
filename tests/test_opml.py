"""`newswatch import-opml`: feeds of an OPML list as a sources: block the config loader accepts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from newswatch.config import load_config
from newswatch.errors import ParseError
from newswatch.opml_import import slug
from parsers.opml import parse_opml

ROOT = Path(__file__).resolve().parents[1]
READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My feeds</title></head>
  <body>
    <outline text="News" title="News">
      <outline type="rss" text="BBC News - World" title="BBC News - World"
               xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml" htmlUrl="https://www.bbc.co.uk/news"/>
      <outline text="Europe">
        <outline text="RT\xc3\x89 World" xmlUrl="https://www.rte.ie/feeds/rss/?index=/news/world/"/>
        <outline text="2024" xmlUrl="https://example.org/2024.xml"/>
      </outline>
    </outline>
    <outline text="BBC News - World" xmlurl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
    <outline text="BBC News - World" xmlUrl="https://feeds.bbci.co.uk/news/world/atom.xml?a=${HOME}"/>
    <outline text="" xmlUrl="https://no-title.example.net/feed"/>
    <outline text="Newsletter" xmlUrl="mailto:desk@example.org"/>
    <outline text="just a note"/>
  </body>
</opml>
"""
TOPICS = 'topics:\n  - name: talks\n    any: ["talks"]\n'


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newswatch", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_printed_block_loads_as_config_with_unique_names(tmp_path: Path) -> None:
    (tmp_path / "feeds.opml").write_bytes(READER_EXPORT)
    done = _cli("import-opml", "feeds.opml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config_file = tmp_path / "newswatch.yaml"
    config_file.write_text(done.stdout + TOPICS, encoding="utf-8")
    config = load_config(config_file, env={})
    assert [(s.name, s.kind, s.url) for s in config.sources] == [
        ("bbc-news-world", "feed", "https://feeds.bbci.co.uk/news/world/rss.xml"),
        ("rte-world", "feed", "https://www.rte.ie/feeds/rss/?index=/news/world/"),
        ("2024", "feed", "https://example.org/2024.xml"),
        ("bbc-news-world-2", "feed", "https://feeds.bbci.co.uk/news/world/atom.xml?a=${HOME}"),
        ("no-title-example-net", "feed", "https://no-title.example.net/feed"),
    ]
    assert "# BBC News - World (in News)" in done.stdout
    assert "# RTÉ World (in News / Europe)" in done.stdout
    assert "listed again" in done.stderr and "mailto:desk@example.org" in done.stderr


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<opml><body><outline text="&lol2;" xmlUrl="https://x.example/f"/></body></opml>"""


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"name,url\nbbc,https://feeds.bbci.co.uk/\n", "not XML"),
        (b'<opml version="2.0"><head/></opml>', "it has no <body>"),
        (b'<rss version="2.0"><channel/></rss>', "not OPML: the document is <rss>"),
        (BOMB, "the DOCTYPE declares entities"),
        (b'<opml><body><outline text="folder"/></body></opml>', "no feeds in it"),
    ],
    ids=["csv", "no-body", "rss", "xml-bomb", "no-feeds"],
)
def test_a_malformed_opml_is_a_usage_error_naming_the_file(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    (tmp_path / "subs.opml").write_bytes(content)
    done = _cli("import-opml", "subs.opml", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "subs.opml" in done.stderr and problem in done.stderr, done.stderr
    assert done.stdout == ""


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    done = _cli("import-opml", "nowhere.opml", cwd=tmp_path)
    assert done.returncode == 2 and "nowhere.opml: cannot read" in done.stderr


def test_deep_nesting_and_only_parse_errors() -> None:
    deep = b"<opml><body>" + b'<outline text="f">' * 100 + b'<outline xmlUrl="http://a.example/"/>'
    deep += b"</outline>" * 100 + b"</body></opml>"
    subs, skipped = parse_opml(deep, "deep.opml")
    assert [s.url for s in subs] == ["http://a.example/"] and skipped == []
    for junk in (b"", b"\x00\xff" * 50, b"<opml>", "<opml>é</opml>".encode("utf-16")):
        with pytest.raises(ParseError):
            parse_opml(junk, "junk.opml")


@pytest.mark.parametrize(
    ("title", "expected"),
    [("BBC News - World", "bbc-news-world"), ("Évian & Co.", "evian-co"), ("Новости", "")],
)
def test_slug(title: str, expected: str) -> None:
    assert slug(title) == expected
