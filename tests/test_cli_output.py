"""What the CLI prints of page text: never a control, bidi or zero-width character."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from tests.httpfixture import LocalHTTPServer, Reply

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = [
    "\u202eTalks on the border\u202c",  # right-to-left override
    "Talks\u200b on\u200d the\u2060 border\ufeff",  # zero-width characters
    "Talks\x1b[31m on the border\x07",  # a terminal escape sequence and a bell
    "Talks\u2066 on the\u2069 border\u061c",  # isolates and the Arabic letter mark
]


@pytest.mark.parametrize("title", HOSTILE, ids=["override", "zero-width", "ansi", "isolates"])
def test_check_fetch_prints_page_titles_without_controls(tmp_path: Path, title: str) -> None:
    body = "Russian and Ukrainian delegations held talks on the border on Monday afternoon."
    page = f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
    page += f"<p>{body}</p><p>{body} Both sides will meet again.</p></article></body></html>"
    with LocalHTTPServer() as site:
        site.route("/robots.txt", Reply(404))
        site.route("/a/1", Reply(body=page.encode(), headers=[("Content-Type", "text/html")]))
        feed = '<rss version="2.0"><channel><item><title>Talks</title>'  # XML can't carry all
        feed += f"<link>{site.url('/a/1')}</link></item></channel></rss>"
        site.route("/feed", Reply(body=feed.encode("utf-8")))
        cfg = tmp_path / "c.yaml"
        cfg.write_text(
            f"store: sqlite:///{tmp_path}/nw.db\ndefaults:\n  per_host_delay: 0\n"
            f"sources:\n  - name: wire\n    feed: {site.url('/feed')}\n"
            "topics:\n  - name: talks\n    any: [talks]\n"
        )
        done = subprocess.run(
            [sys.executable, "-m", "newswatch", "check", "--fetch", "-c", str(cfg)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "matches [talks] new_story: Talks" in done.stdout, done.stdout
    bad = {f"U+{ord(c):04X}" for c in done.stdout if c != "\n" and not c.isprintable()}
    bad |= {f"U+{ord(c):04X}" for c in done.stdout if unicodedata.category(c) == "Cf"}
    assert not bad, (bad, done.stdout)
