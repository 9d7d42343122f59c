"""robots.txt: whether a URL may be fetched and how long to wait between requests (Crawl-delay).

Rules are read once per origin and kept for a while (`RobotsCache`); how a robots.txt answer
becomes rules follows the common practice of crawlers: 200 → its rules; 401/403 → nothing may
be fetched; another 4xx or a redirect elsewhere → no rules; a network error or 5xx → nothing
for now, asked again soon. Downloading is the fetcher's job: it hands a loader in.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from protego import Protego

from newswatch.errors import BlockedFetchError, TransientFetchError

ROBOTS_MAX_BYTES = 512 * 1024  # the limit Google documents for robots.txt
FAILURE_TTL = 60.0  # an unreadable robots.txt (network error, 5xx) is asked again this soon
_TOKEN_END = re.compile(r"[/\s]")


@dataclass(frozen=True, slots=True)
class RobotsRules:
    """What one origin's robots.txt says, until `expires` (a time.monotonic() value)."""

    expires: float
    rules: Protego | None = None  # None: no usable robots.txt, everything allowed
    deny_all: bool = False
    unavailable: bool = False

    @classmethod
    def from_text(cls, body: bytes, expires: float) -> RobotsRules:
        text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
        return cls(expires, rules=Protego.parse(text))

    def delay_for(self, url: str, user_agent: str, shown: str) -> float:
        """Raise when `url` may not be fetched (now); otherwise its Crawl-delay in seconds."""
        if self.unavailable:
            raise TransientFetchError("robots.txt unavailable: temporarily disallowed", url=shown)
        token = _TOKEN_END.split(user_agent.strip(), maxsplit=1)[0]
        if self.deny_all or (self.rules and not self.rules.can_fetch(url, token)):
            raise BlockedFetchError("disallowed by robots.txt", url=shown)
        delay = self.rules.crawl_delay(token) if self.rules else None
        return float(delay or 0.0)


class RobotsCache:
    """Rules per origin, loaded at most once at a time per origin, safe across threads."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()  # guards the dicts; never held while loading
        self._rules: dict[str, RobotsRules] = {}
        self._turns: dict[str, threading.Lock] = {}

    def get(self, origin: str, load: Callable[[float], RobotsRules]) -> RobotsRules:
        """The origin's rules; `load(expires)` downloads them when there are none fresh."""
        with self._lock:
            cached = self._rules.get(origin)
            turn = self._turns.setdefault(origin, threading.Lock())
        if cached and cached.expires > time.monotonic():
            return cached
        with turn:  # one download per origin even when several threads ask at once
            cached = self._rules.get(origin)
            if cached and cached.expires > time.monotonic():
                return cached
            rules = load(time.monotonic() + self.ttl)
            with self._lock:
                self._rules[origin] = rules
            return rules
