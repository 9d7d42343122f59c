"""`newswatch demo` works from a fresh directory: real alerts arrive and the summary says so."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_demo_replays_the_news_day_and_shows_alerts(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "newswatch.cli", "demo", "--fast"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "cycle 1 of" in out and "baseline" in out
    chats, mails = map(int, re.search(r"(\d+) chat message\(s\) and (\d+) email", out).groups())
    assert chats >= 5 and mails >= 3
    assert "[talks] New story" in out and "fled:" in out  # a story and a figure change
    assert (tmp_path / "state" / "demo" / "newswatch.db").exists()  # the store is in the cwd
