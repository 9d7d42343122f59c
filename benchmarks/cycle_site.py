"""A local news site for cycle benchmarks: N RSS feeds of M article pages, with ETags (304s).

Pages are about 40 KB like real news pages: a header, navigation, a sidebar of related links, a
footer and a consent banner around a body of distinct paragraphs, so extraction does real work.
Everything is generated from a seed: the same site every run.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.process
import random
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

_WORDS = [
    "ukraine",
    "russia",
    "talks",
    "delegation",
    "ceasefire",
    "sanctions",
    "banks",
    "refugees",
    "border",
    "poland",
    "moldova",
    "officials",
    "said",
    "minister",
    "president",
    "government",
    "forces",
    "troops",
    "city",
    "region",
    "attack",
    "shelling",
    "negotiations",
    "agreed",
    "statement",
    "european",
    "union",
    "united",
    "states",
    "council",
    "humanitarian",
    "corridor",
    "people",
    "thousands",
    "fled",
    "morning",
    "evening",
    "reported",
    "agency",
    "according",
    "spokesperson",
    "meeting",
    "plan",
    "grain",
    "exports",
    "port",
    "ships",
    "energy",
    "supplies",
    "prices",
    "markets",
    "currency",
    "airspace",
    "flights",
    "closed",
]


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(12, 24))]
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 4)))


def _boilerplate(rng: random.Random, base: str) -> tuple[str, str]:
    nav = "".join(f'<li><a href="{base}/section/{i}">Section {i}</a></li>' for i in range(40))
    related = "".join(
        f'<li><a href="{base}/related/{rng.randint(1, 10**6)}">{_sentence(rng)[:70]}</a></li>'
        for _ in range(60)
    )
    tracking = ",".join(f'"k{i}":"{rng.getrandbits(64):x}"' for i in range(300))
    head = (
        f"<script>window.__config={{{tracking}}};</script>"
        "<style>"
        + "".join(f".c{i}{{margin:{i}px;padding:{i % 7}px}}" for i in range(200))
        + "</style>"
        f'<header><div class="logo">Bench News</div><nav><ul>{nav}</ul></nav></header>'
        '<div class="consent">We use cookies to improve your experience. Accept all?</div>'
    )
    foot = (
        f'<aside class="related"><h3>Related</h3><ul>{related}</ul></aside>'
        f"<footer><p>{_paragraph(rng)}</p><p>{_paragraph(rng)}</p><ul>{nav}</ul>"
        "<p>© Bench News</p></footer>"
    )
    return head, foot


class CycleSite:
    """`feeds` feeds of `articles` pages each on one local server; counts requests by status."""

    def __init__(self, feeds: int, articles: int, seed: int = 2022, stall: bool = True) -> None:
        self.feeds, self.articles = feeds, articles
        self.stall = stall
        self.pages: dict[str, bytes] = {}
        self.counts: dict[int, int] = {}
        self._lock = threading.Lock()
        self._seed = seed
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._build()

    def feed_url(self, n: int) -> str:
        return f"{self.base}/feed/{n}.xml"

    def _build(self) -> None:
        rng = random.Random(self._seed)
        now = datetime.now(UTC).replace(microsecond=0)
        for f in range(self.feeds):
            items = []
            for a in range(self.articles):
                path = f"/a/{f}/{a}.html"
                title = _sentence(rng)[:80].rstrip(".")
                published = now - timedelta(minutes=5 * (f * self.articles + a) % 600)
                head, foot = _boilerplate(rng, self.base)
                body = "".join(f"<p>{_paragraph(rng)}</p>" for _ in range(rng.randint(14, 22)))
                self.pages[path] = (
                    f"<!doctype html><html><head><title>{title}</title>"
                    f'<meta property="article:published_time" content="{published.isoformat()}">'
                    f"</head><body>{head}<article><h1>{title}</h1>{body}</article>{foot}"
                    "</body></html>"
                ).encode()
                items.append(
                    f"<item><title>{title}</title><link>{self.base}{path}</link>"
                    f"<guid>{self.base}{path}</guid>"
                    f"<pubDate>{format_datetime(published)}</pubDate></item>"
                )
            self.pages[f"/feed/{f}.xml"] = (
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>Feed {f}</title>{''.join(items)}</channel></rss>"
            ).encode()
        self.pages["/robots.txt"] = b"User-agent: *\nAllow: /\n"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # http.server writes the headers and the body of a reply separately; the client's
            # delayed ACK then holds each page back about 40 ms (a 304, headers only, is not
            # held): about the latency of a real news site. Buffered, the reply goes in one write
            # and only CPU time is left (stall=False).
            wbufsize = 0 if site.stall else 1 << 20

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = site.pages.get(self.path.split("?", 1)[0])
                if body is None:
                    return self._reply(404, b"not found", None)
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    return self._reply(304, b"", etag)
                return self._reply(200, body, etag)

            def _reply(self, status: int, body: bytes, etag: str | None) -> None:
                with site._lock:
                    site.counts[status] = site.counts.get(status, 0) + 1
                self.send_response(status)
                kind = "application/rss+xml" if self.path.endswith(".xml") else "text/html"
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> CycleSite:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


class SiteProcess:
    """A CycleSite served from a process of its own, so the server never shares an interpreter
    (and its lock) with the code measuring around it. Same `feeds`, `feed_url`; `kib` in all."""

    def __init__(self, feeds: int, articles: int, seed: int = 2022, stall: bool = True) -> None:
        self.feeds, self.articles = feeds, articles
        self._args = (feeds, articles, seed, stall)
        self._process: multiprocessing.process.BaseProcess | None = None
        self.base, self.kib = "", 0.0

    def feed_url(self, n: int) -> str:
        return f"{self.base}/feed/{n}.xml"

    def __enter__(self) -> SiteProcess:
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe()
        self._stop = context.Event()
        self._process = context.Process(
            target=_serve, args=(*self._args, theirs, self._stop), daemon=True
        )
        self._process.start()
        self.base, self.kib = ours.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._process is not None:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()


def _serve(
    feeds: int,
    articles: int,
    seed: int,
    stall: bool,
    pipe: multiprocessing.connection.Connection,
    stop: Any,
) -> None:
    with CycleSite(feeds, articles, seed, stall) as site:
        pipe.send((site.base, sum(len(p) for p in site.pages.values()) / 1024))
        stop.wait()
