"""Many local news feeds on many hosts (127.0.0.2, 127.0.0.3, …), with a log of every request.

For the scaling tests and `benchmarks.scale`: each host is its own small HTTP server on a
loopback address, so per-host pacing sees distinct hosts. Feed `k` lists `initial` articles at
step 0 and `per_step` more at each later step; articles never change (ETag → 304 on re-checks).
Every article has its own text (a seeded word salad) around a topic phrase, so each one is a new
story for detection and a real parse for the extractor.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

TOPIC_PHRASES = (
    "ceasefire talks resumed",
    "new sanctions announced",
    "refugees crossed the border",
)


def _vocabulary(size: int = 3000) -> list[str]:
    rnd = random.Random(7)
    syllable = lambda: rnd.choice("bcdfghklmnprstvz") + rnd.choice("aeiou")  # noqa: E731
    return ["".join(syllable() for _ in range(rnd.randint(2, 4))) for _ in range(size)]


_WORDS = _vocabulary()


@dataclass(frozen=True, slots=True)
class Request:
    """One request as a host received it (`arrived`: time.monotonic() once headers were read)."""

    host: str
    path: str
    arrived: float
    conditional: bool


class FeedFarm:
    """`feeds` RSS feeds spread over `hosts` loopback addresses; `with FeedFarm(...) as farm`."""

    def __init__(
        self,
        feeds: int,
        hosts: int,
        *,
        initial: int = 3,
        per_step: int = 1,
        crawl_delay: dict[int, float] | None = None,
        paragraphs: int = 6,
    ) -> None:
        self.feeds, self.hosts = feeds, max(1, min(hosts, 250))
        self.initial, self.per_step, self.paragraphs = initial, per_step, paragraphs
        self.crawl_delay = crawl_delay or {}  # host index → robots.txt Crawl-delay
        self.step = 0
        self.started = datetime.now(UTC) - timedelta(hours=2)
        self._lock = threading.Lock()
        self._log: list[Request] = []
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []

    # --- life cycle -----------------------------------------------------------------------------

    def __enter__(self) -> FeedFarm:
        for i in range(self.hosts):
            server = _Server((self.address(i), 0), _Handler)
            server.farm, server.index = self, i
            thread = threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    @staticmethod
    def address(host: int) -> str:
        return f"127.0.{2 + host // 250}.{2 + host % 250}"

    def host_of(self, feed: int) -> int:
        return feed % self.hosts

    def base(self, host: int) -> str:
        port = self._servers[host].server_address[1]
        return f"http://{self.address(host)}:{port}"

    def feed_url(self, feed: int) -> str:
        return f"{self.base(self.host_of(feed))}/feed/{feed}.xml"

    def sources(self) -> list[dict[str, str]]:
        """The `sources:` entries of a config watching every feed."""
        return [{"name": f"feed-{k:05d}", "feed": self.feed_url(k)} for k in range(self.feeds)]

    def advance(self) -> None:
        with self._lock:
            self.step += 1

    def articles_at(self, step: int) -> int:
        return self.initial + self.per_step * step

    # --- the log --------------------------------------------------------------------------------

    def log(self) -> list[Request]:
        with self._lock:
            return list(self._log)

    def clear(self) -> None:
        with self._lock:
            self._log.clear()

    def _record(self, request: Request) -> None:
        with self._lock:
            self._log.append(request)

    # --- documents ------------------------------------------------------------------------------

    def document(self, host: int, path: str) -> tuple[bytes, str] | None:
        parts = path.strip("/").split("/")
        if path == "/robots.txt":
            delay = self.crawl_delay.get(host)
            if delay is None:
                return None
            return f"User-agent: *\nCrawl-delay: {delay}\n".encode(), "text/plain"
        if len(parts) == 2 and parts[0] == "feed" and parts[1].endswith(".xml"):
            feed = _number(parts[1][:-4])
            if feed is None or feed >= self.feeds or self.host_of(feed) != host:
                return None
            return self._feed(feed), "application/rss+xml"
        if len(parts) == 3 and parts[0] == "a":
            feed, item = _number(parts[1]), _number(parts[2].removesuffix(".html"))
            if feed is None or item is None or feed >= self.feeds or self.host_of(feed) != host:
                return None
            return self._article(feed, item), "text/html; charset=utf-8"
        return None

    def published(self, item: int) -> datetime:
        return self.started + timedelta(minutes=item)

    def _feed(self, feed: int) -> bytes:
        with self._lock:
            count = self.articles_at(self.step)
        base = self.base(self.host_of(feed))
        items = "".join(
            f"<item><title>{escape(self._title(feed, j))}</title>"
            f"<link>{base}/a/{feed}/{j}.html</link><guid>{base}/a/{feed}/{j}.html</guid>"
            f"<pubDate>{format_datetime(self.published(j))}</pubDate></item>"
            for j in range(count)
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {feed}</title><link>{base}/</link><description>d</description>"
            f"{items}</channel></rss>"
        ).encode()

    def _title(self, feed: int, item: int) -> str:
        rnd = random.Random(feed * 100_003 + item)
        return " ".join(rnd.choice(_WORDS) for _ in range(6)).capitalize()

    def _article(self, feed: int, item: int) -> bytes:
        rnd = random.Random(feed * 100_003 + item)
        title = self._title(feed, item)
        phrase = TOPIC_PHRASES[(feed + item) % len(TOPIC_PHRASES)]
        paras = []
        for p in range(self.paragraphs):
            words = [rnd.choice(_WORDS) for _ in range(40)]
            if p == 1:
                words[10:10] = phrase.split()
            paras.append(" ".join(words).capitalize() + ".")
        when = self.published(item).isoformat()
        body = "".join(f"<p>{escape(p)}</p>" for p in paras)
        return (
            f"<!doctype html><html lang='en'><head><title>{escape(title)}</title>"
            f"<meta property='article:published_time' content='{when}'></head>"
            f"<body><article><h1>{escape(title)}</h1>{body}</article></body></html>"
        ).encode()


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 9 else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    farm: FeedFarm
    index: int

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client process that exits drops its kept-alive connections: not news


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        arrived = time.monotonic()
        farm, host = self.server.farm, self.server.index
        path = self.path.split("?", 1)[0]
        conditional = "If-None-Match" in self.headers
        farm._record(Request(farm.address(host), path, arrived, conditional))
        doc = farm.document(host, path)
        if doc is None:
            self._send(404, b"not found\n", "text/plain", {})
            return
        body, content_type = doc
        etag = '"' + hashlib.sha256(body).hexdigest()[:24] + '"'
        if self.headers.get("If-None-Match") == etag:
            self._send(304, b"", content_type, {"ETag": etag})
            return
        self._send(200, body, content_type, {"ETag": etag})

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, Any]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass
