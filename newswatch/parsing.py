"""Where article and live-page parsing runs: in this process, or in worker processes.

Extraction is most of a cycle's CPU, and Python threads share one core for it. `ParsePool`
sends each page to a small pool of worker processes, so fetching threads keep the network busy
while every core parses. Workers come from a fork server that has imported the parsers once, so
starting one is cheap and never forks this process's threads. A worker that dies (a hostile
page that exhausts memory) fails that page as a ParseError and the pool is started again.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import select
import sys
import threading
import time
import types
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, TypeVar

from newswatch.errors import ParseError
from newswatch.models import Article, Known, LivePage, Observation, Topic
from newswatch.processes import pid_alive

if TYPE_CHECKING:
    from newswatch.detect import Plan, Rules

_PRELOAD = ["parsers.articles", "parsers.pages", "newswatch.detect"]
log = logging.getLogger(__name__)
_T = TypeVar("_T")


class InProcess:
    """Parse in the calling thread (tests, one-core machines, a dry check)."""

    def article(self, content: bytes, url: str) -> Article:
        return parse_article(content, url)

    def page(self, content: bytes, url: str) -> LivePage:
        return parse_page(content, url)

    def analyse(self, obs: Observation, rules: Rules) -> Plan:
        """Detection's first step for a URL never seen before (it needs nothing from the store)."""
        from newswatch.detect import analyse

        return analyse(obs, Known(), rules)

    def close(self) -> None:
        pass


# The parsers (lxml, trafilatura's helpers: ~130 ms to import) are imported where a page is
# parsed: in the pool's workers, which the fork server preloads with them, or here on first use.
def parse_article(content: bytes, url: str) -> Article:
    from parsers.articles import parse_article as parse

    return parse(content, url)


def parse_page(content: bytes, url: str) -> LivePage:
    from parsers.pages import parse_page as parse

    return parse(content, url)


class ParsePool(InProcess):
    """Parse in `workers` worker processes, started on first use."""

    def __init__(self, workers: int, topics: Sequence[Topic] = ()) -> None:
        self.workers = workers
        self.topics = tuple(topics)  # the workers compile these once, for `analyse`
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def article(self, content: bytes, url: str) -> Article:
        return self._run(parse_article, content, url)

    def page(self, content: bytes, url: str) -> LivePage:
        return self._run(parse_page, content, url)

    def analyse(self, obs: Observation, rules: Rules) -> Plan:
        """In a worker, which compiled the same topics as `rules`: the cycle's other threads
        keep this process's one core for fetching and recording meanwhile."""
        if not self.topics:
            return super().analyse(obs, rules)
        pool = self._started()
        try:
            return pool.submit(_analyse_new, obs).result()
        except (BrokenProcessPool, EOFError, OSError) as exc:
            log.warning("parser pool unavailable (%s); analysing %s in process", exc, obs.url)
            self._restart(pool)
            return super().analyse(obs, rules)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, parse: Callable[..., _T], content: bytes, url: str) -> _T:
        pool = self._started()
        try:
            future = pool.submit(parse, content, url)
        except (BrokenProcessPool, EOFError, OSError) as exc:
            # The pool could not start a worker (the fork server failed): parse here instead.
            log.warning("parser pool unavailable (%s); parsing %s in process", exc, url)
            self._restart(pool)
            return parse(content, url)
        try:
            return future.result()
        except BrokenProcessPool:
            self._restart(pool)
            raise ParseError(f"{url}: the parser process died on this page") from None

    def _started(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = _WorkerContext()
                context.set_forkserver_preload(_PRELOAD)
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=context,
                    initializer=_start_worker,
                    initargs=(os.getpid(), self.topics),
                )
            return self._pool

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)


_MAIN_SWAP = threading.Lock()


class _Worker(multiprocessing.context.ForkServerProcess):
    """A parser worker that does not run the program's main module again.

    multiprocessing has every new process import the parent's `__main__` (so functions defined
    there can be unpickled). Parsers need nothing from it, and under Prefect it is the
    `prefect` command or `prefect.engine`: importing it again cost each worker about a second
    and tens of MB. The worker is started while `__main__` is an empty module.
    """

    def start(self) -> None:
        main = sys.modules["__main__"]
        with _MAIN_SWAP:
            sys.modules["__main__"] = types.ModuleType("__main__")
            try:
                super().start()
            finally:
                sys.modules["__main__"] = main


class _WorkerContext(multiprocessing.context.ForkServerContext):
    Process = _Worker


_RULES: Rules | None = None  # in a worker: the run's topics, compiled once


def _start_worker(owner: int, topics: tuple[Topic, ...]) -> None:
    from newswatch.detect import Rules

    global _RULES
    _RULES = Rules.build(topics)
    _end_with(owner)


def _analyse_new(obs: Observation) -> Plan:
    from newswatch.detect import analyse

    assert _RULES is not None, "a parser worker is started with the run's topics"
    return analyse(obs, Known(), _RULES)


def _end_with(owner: int) -> None:
    """In a worker: exit as soon as the run's process `owner` is gone.

    Workers are children of the fork server, not of the run; without this a run killed with
    SIGKILL would leave them (and, through them, the fork server) waiting for ever, holding the
    run's stdout and stderr open.
    """
    threading.Thread(target=_watch, args=(owner,), name="owner-watch", daemon=True).start()


def _watch(owner: int) -> None:
    try:
        fd = os.pidfd_open(owner)  # Linux 5.3+: readable once the process has exited
    except (AttributeError, OSError):
        fd = -1
    if fd >= 0:
        select.select([fd], [], [])
    else:
        while pid_alive(owner):
            time.sleep(1.0)
    os._exit(0)


def parsing_for_this_machine(topics: Sequence[Topic] = ()) -> InProcess:
    """A pool with a worker per core where there are two or more; else parse in process."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    return ParsePool(cores, topics) if cores >= 2 else InProcess()
