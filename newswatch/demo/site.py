"""A local web server replaying the bundled news day, one monitor cycle (step) at a time."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from newswatch.demo.newsday import NewsDay, clock_text, load_newsday
from newswatch.demo.pages import Pages
from newswatch.demo.serving import POLL as POLL  # kept importable from here, where it was defined
from newswatch.demo.serving import ServerThread, Service


@dataclass(frozen=True, slots=True)
class Document:
    """One response body as the site serves it at a step, with its HTTP validators."""

    body: bytes
    content_type: str
    etag: str
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class Hit:
    """One request the site answered, so tests can check what a client fetched and how."""

    method: str
    path: str
    status: int
    user_agent: str
    conditional: bool


class NewsDaySite(Service[ServerThread]):
    """Serves two invented outlets (feed, sitemap, listing, articles, live page) on localhost.

    Published times are news-day clock times mapped onto the real time at `start()`, the last
    step lying two minutes in the past. Bodies are deterministic per step, so the ETag is a
    hash of the body and Last-Modified is the time of the step at which the body last changed.
    """

    _name = "the news-day site"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        newsday: NewsDay | None = None,
        started: datetime | None = None,
    ) -> None:
        self.newsday = newsday or load_newsday()
        self._address = (host, port)
        self._started = started
        self._lock = threading.Lock()
        self._step = 0
        self._cache: dict[tuple[str, int], Document] = {}
        self._hits: list[Hit] = []
        self._pages: Pages | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def _launch(self) -> ServerThread:
        """Bind, lay the pages out at the bound address (port 0 picks one), then serve."""
        server = _Server(self._address, _Handler)
        server.site = self
        host, port = str(server.server_address[0]), int(server.server_address[1])
        started = self._started or datetime.now(UTC)
        self._pages = Pages(self.newsday, f"http://{host}:{port}", self.newsday.timeline(started))
        return ServerThread(server, "newsday-site")

    # --- steps --------------------------------------------------------------------------------

    @property
    def steps(self) -> int:
        return len(self.newsday.steps)

    @property
    def step(self) -> int:
        with self._lock:
            return self._step

    def set_step(self, step: int) -> None:
        if not 0 <= step < self.steps:
            raise ValueError(f"step {step} is outside 0..{self.steps - 1}")
        with self._lock:
            self._step = step

    def advance(self) -> int:
        """Move to the next step and return it; ValueError after the last one."""
        with self._lock:
            if self._step + 1 >= self.steps:
                raise ValueError(f"step {self._step} is the last step of the news day")
            self._step += 1
            return self._step

    def describe_step(self, step: int) -> str:
        """One line saying what happens on the news day at `step`."""
        if not 0 <= step < self.steps:
            raise ValueError(f"step {step} is outside 0..{self.steps - 1}")
        s = self.newsday.steps[step]
        return f"step {step} ({clock_text(s.clock)}): {s.summary}"

    # --- addresses and documents --------------------------------------------------------------

    @property
    def pages(self) -> Pages:
        if self._pages is None:
            raise RuntimeError("the news-day site is not running: call start() first")
        return self._pages

    @property
    def base_url(self) -> str:
        return self.pages.base

    def url(self, path: str) -> str:
        return self.pages.base + path

    def source_urls(self) -> dict[str, str]:
        """The sources of config/demo.yaml, by name, at this site's address."""
        return {name: self.url(path) for name, path in self.pages.source_paths().items()}

    def time_of_step(self, step: int) -> datetime:
        return self.pages.timeline.at(self.newsday.steps[step].clock)

    def document(self, path: str, step: int | None = None) -> Document | None:
        """What the site serves at `path` at `step` (default: the current step); None = 404."""
        step = self.step if step is None else step
        key = (path, step)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        doc = self._build(path, step)
        if doc is not None:  # caching misses would let a client grow memory with made-up paths
            with self._lock:
                self._cache[key] = doc
        return doc

    def _build(self, path: str, step: int) -> Document | None:
        rendered = self.pages.render(path, step)
        if rendered is None:
            return None
        body, content_type = rendered
        changed = step
        while changed > 0 and self.pages.render(path, changed - 1) == rendered:
            changed -= 1
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return Document(body, content_type, etag, self.time_of_step(changed))

    @property
    def hits(self) -> list[Hit]:
        with self._lock:
            return list(self._hits)

    def _record(self, hit: Hit) -> None:
        with self._lock:
            self._hits.append(hit)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: NewsDaySite


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "NewsDaySite/1.0"

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        site = self.server.site
        path = urlsplit(self.path).path
        doc = site.document(path)
        conditional = "If-None-Match" in self.headers or "If-Modified-Since" in self.headers
        if doc is None:
            status, body = 404, b"not found\n"
        else:
            status = 304 if _not_modified(self.headers, doc) else 200
            body = b"" if status == 304 else doc.body
        # Recorded before answering, so a client that got the answer also finds it in `hits`.
        agent = self.headers.get("User-Agent", "")
        site._record(Hit(self.command, path, status, agent, conditional))
        self.send_response(status)
        if doc is None:
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        else:
            if status == 200:
                self.send_header("Content-Type", doc.content_type)
            self.send_header("ETag", doc.etag)
            self.send_header("Last-Modified", format_datetime(doc.last_modified, usegmt=True))
            self.send_header("Cache-Control", "max-age=0, must-revalidate")
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the demo prints alerts, not access logs."""


def _not_modified(headers: Message, doc: Document) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since; weak comparison for GET."""
    tags = headers.get("If-None-Match")
    if tags is not None:
        wanted = {t.strip().removeprefix("W/") for t in str(tags).split(",")}
        return "*" in wanted or doc.etag in wanted
    since = headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        when = parsedate_to_datetime(str(since))
    except (TypeError, ValueError, IndexError):
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return doc.last_modified <= when
