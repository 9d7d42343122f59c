"""One huge RSS feed through `newswatch run`: its baseline and the idle cycle after it.

Serves one local RSS feed of N items (default 100,000: realistic titles, links, guids, pubDates
and a short description each, about 55 MB) and small article pages, then times, as whole
processes (wall seconds and peak RSS of the process, as benchmarks/cycle_cost.py does; the
parser worker processes are not counted):

- baseline: the first `newswatch run` over a fresh SQLite store. It fetches the newest 300
  articles and remembers every other link unfetched, as history;
- idle: the next cycle, where the feed and the 300 articles answer 304 Not Modified;
- reference: `parsers.feeds.read_feed` alone on the same feed bytes, in its own process, so the
  figures above read as multiples of the least the baseline must do.

Every item is inside `max_age` (set to a year), so none is skipped as old: the worst case.
Run from the repository root:

    .venv/bin/python -m benchmarks.big_feed [--items 100000] [--no-descriptions]

Nothing is asserted: the figures are printed (the README quotes them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

import yaml

from benchmarks.bytecode import compile_project
from benchmarks.cycle_site import _WORDS, _paragraph, _sentence

REPO = Path(__file__).resolve().parent.parent
SECTIONS = ("world", "europe", "politics", "business", "markets", "energy", "science", "sport")


class BigFeedSite:
    """One feed of `items` items and an article page for each, on one local server."""

    def __init__(self, items: int, descriptions: bool = True, seed: int = 2026) -> None:
        self.items = items
        self.counts: dict[int, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.feed = self._build_feed(random.Random(seed), descriptions)
        self._feed_etag = _etag(self.feed)

    @property
    def feed_url(self) -> str:
        return f"{self.base}/rss/all.xml"

    def _build_feed(self, rng: random.Random, descriptions: bool) -> bytes:
        now = datetime.now(UTC).replace(microsecond=0)
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Big News: everything</title><link>{self.base}/</link>"
            "<description>Every story we ever published</description>"
        ]
        for n in range(self.items):  # newest first, one every two minutes
            title = " ".join(rng.choices(_WORDS, k=rng.randint(6, 12))).capitalize()
            link = f"{self.base}/{SECTIONS[n % len(SECTIONS)]}/{n}-{_slug(title)}.html"
            summary = f"<description>{_sentence(rng)}</description>" if descriptions else ""
            published = format_datetime(now - timedelta(minutes=2 * n))
            parts.append(
                f"<item><title>{title}</title><link>{link}</link>"
                f'<guid isPermaLink="true">{link}</guid><pubDate>{published}</pubDate>'
                f"{summary}</item>"
            )
        parts.append("</channel></rss>\n")
        return "\n".join(parts).encode()

    def page(self, path: str) -> bytes | None:
        """A small article page for an item's path (made on request from its number)."""
        name = path.rpartition("/")[2]
        number = name.partition("-")[0]
        if not (path.endswith(".html") and number.isdigit() and int(number) < self.items):
            return None
        rng = random.Random(int(number))
        title = name.partition("-")[2].removesuffix(".html").replace("-", " ").capitalize()
        body = "".join(f"<p>{_paragraph(rng)}</p>" for _ in range(rng.randint(5, 9)))
        return (
            f"<!doctype html><html><head><title>{title}</title></head><body>"
            f"<header><a href='{self.base}/'>Big News</a></header>"
            f"<article><h1>{title}</h1>{body}</article><footer>© Big News</footer></body></html>"
        ).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path.split("?", 1)[0]
                if path == "/rss/all.xml":
                    body, etag, kind = site.feed, site._feed_etag, "application/rss+xml"
                elif path == "/robots.txt":
                    body, etag, kind = b"User-agent: *\nAllow: /\n", None, "text/plain"
                else:
                    page = site.page(path)
                    if page is None:
                        return self._reply(404, b"not found", None, "text/plain")
                    body, etag, kind = page, _etag(page), "text/html"
                if etag and self.headers.get("If-None-Match") == etag:
                    return self._reply(304, b"", etag, kind)
                return self._reply(200, body, etag, kind)

            def _reply(self, status: int, body: bytes, etag: str | None, kind: str) -> None:
                with site._lock:
                    site.counts[status] = site.counts.get(status, 0) + 1
                head = [
                    f"HTTP/1.1 {status} {self.responses[status][0]}",
                    f"Content-Type: {kind}; charset=utf-8",
                    f"Content-Length: {len(body)}",
                ]
                if etag:
                    head.append(f"ETag: {etag}")
                # Headers and body in one write: two small writes would meet the client's
                # delayed ACK (a 40 ms stall per response on Linux loopback).
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)

            def log_message(self, *_args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> BigFeedSite:
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


def _slug(title: str) -> str:
    return "-".join(title.lower().split()[:6])


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:16] + '"'


def newswatch_config(site: BigFeedSite, folder: Path) -> Path:
    config = {
        "store": f"sqlite:///{folder}/bench.db",
        "defaults": {
            "per_host_delay": 0,
            "max_age": "365d",
            "max_bytes": 2 * len(site.feed) + 1_000_000,
        },
        "sources": [{"name": "big-news", "feed": site.feed_url}],
        "topics": [{"name": "talks", "any": ["talks", "negotiations"]}],
        "channels": [],
    }
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# Runs a command and prints its wall seconds and peak RSS. The measured process is forked from
# this small launcher, not from the benchmark: Linux counts what a child inherited at fork in
# its peak RSS, and the benchmark holds the whole feed (that alone would read as 200 MB).
_LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
took = time.perf_counter() - started
print(json.dumps([took, usage.ru_maxrss, os.waitstatus_to_exitcode(status)]))
"""


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one whole process; fails loudly if it fails."""
    launch = [sys.executable, "-c", _LAUNCHER, *command]
    out = subprocess.run(launch, cwd=REPO, env=env, stdout=subprocess.PIPE, check=True)
    took, kib, code = json.loads(out.stdout)
    if code:
        raise SystemExit(f"{' '.join(command[:4])}… exited {code}")
    return float(took), int(kib)


_PARSE_ONLY = """
import sys
from parsers.feeds import read_feed
with open(sys.argv[1], "rb") as f:
    data = f.read()
print(len(read_feed(data, sys.argv[2]).entries))
"""


def measure(site: BigFeedSite) -> dict[str, tuple[float, int]]:
    """Reference parse, then baseline and idle cycles of `newswatch run` on a fresh store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    out: dict[str, tuple[float, int]] = {}
    with tempfile.TemporaryDirectory(prefix="nw-bigfeed-") as scratch:
        folder = Path(scratch)
        feed = folder / "feed.xml"
        feed.write_bytes(site.feed)
        out["read_feed only"] = timed([sys.executable, "-c", _PARSE_ONLY, str(feed), site.feed_url])
        config = newswatch_config(site, folder)
        run = [sys.executable, "-m", "newswatch", "run", "-c", str(config)]
        out["newswatch baseline"] = timed(run, env)
        out["newswatch idle"] = timed(run, env)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--no-descriptions", dest="descriptions", action="store_false")
    args = parser.parse_args(argv)
    compile_project()
    with BigFeedSite(args.items, args.descriptions) as site:
        mb = len(site.feed) / 1e6
        print(f"feed: {args.items:,} items, {mb:.1f} MB; whole processes, wall s and peak RSS:")
        figures = measure(site)
        counts = ", ".join(f"{n} x {s}" for s, n in sorted(site.counts.items()))
    reference, _ = figures["read_feed only"]
    for key, (took, kib) in figures.items():
        ratio = f"{took / reference:5.1f}x the parse" if key != "read_feed only" else ""
        print(f"  {key:20} {took:7.2f} s  peak RSS {kib / 1024:6.0f} MB  {ratio}")
    print(f"requests served: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
