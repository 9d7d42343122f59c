"""Parsing in worker processes gives what parsing in process gives, and survives a dead worker."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from newswatch.errors import ParseError
from newswatch.parsing import InProcess, ParsePool

PAGE = (
    b"<html><head><title>Talks end</title></head><body><article><h1>Talks end</h1>"
    b"<p>Russian and Ukrainian delegations ended a first round of talks at the border.</p>"
    b"<p>Both sides said they would meet again in the coming days, officials said.</p>"
    b"</article></body></html>"
)


@pytest.fixture
def pool() -> Iterator[ParsePool]:
    p = ParsePool(2)
    yield p
    p.close()


def test_a_page_parsed_in_a_worker_is_the_page_parsed_here(pool: ParsePool) -> None:
    here = InProcess().article(PAGE, "https://e.org/a")
    there = pool.article(PAGE, "https://e.org/a")
    assert there == here and "first round of talks" in there.text


def _refuse(_content: bytes, url: str) -> None:
    raise ParseError(f"{url}: not a page")


def test_a_parse_error_in_a_worker_is_the_same_parse_error_here(pool: ParsePool) -> None:
    with pytest.raises(ParseError, match="e.org/bad: not a page"):
        pool._run(_refuse, PAGE, "https://e.org/bad")


def _die(_content: bytes, _url: str) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_that_dies_fails_its_page_and_the_pool_starts_again(pool: ParsePool) -> None:
    with pytest.raises(ParseError, match="parser process died"):
        pool._run(_die, PAGE, "https://e.org/killer")
    assert pool.article(PAGE, "https://e.org/a").title == "Talks end"


def test_workers_do_not_run_the_programs_main_module_again(tmp_path) -> None:
    """A program without a `__main__` guard (or the `prefect` command) that parses in the pool
    runs once: the workers never import the main module again."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "program.py"
    script.write_text(
        "from newswatch.parsing import ParsePool\n"
        "print('main module ran', flush=True)\n"
        "pool = ParsePool(2)\n"
        f"print(pool.article({PAGE!r}, 'https://e.org/a').title, flush=True)\n"
        "pool.close()\n"
    )
    repo = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": repo},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["main module ran", "Talks end"]


def test_detection_first_step_in_a_worker_is_the_one_here() -> None:
    """A new URL's `analyse` runs in a worker that compiled the same topics: same plan, story
    signature and band keys included, for topics given as words, regexes and measures."""
    from newswatch.detect import Rules
    from newswatch.models import Observation, Topic

    topics = (
        Topic("talks", ("talks", "/delegations?/")),
        Topic("border", ("border",), measures=(("crossings", ("crossed", "fled")),)),
        Topic("none", ("sanctions",)),
    )
    article = InProcess().article(PAGE, "https://e.org/a")
    obs = Observation("s", "https://e.org/a", "article", article.title, tuple(article.paragraphs))
    here = InProcess().analyse(obs, Rules.build(topics))
    assert {w.match.topic for w in here.work} == {"talks", "border"}
    pool = ParsePool(2, topics)
    try:
        assert pool.analyse(obs, Rules.build(topics)) == here
    finally:
        pool.close()
