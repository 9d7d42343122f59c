"""parse_feed against feedparser on feedparser's own test feeds: entry agreement, losses, speed.

Run from the repository root:

    .venv/bin/python -m benchmarks.feeds_vs_feedparser [--corpus DIR] [--show N] [--repeat N]

The corpus is the ``tests/`` folder of the feedparser source distribution matching the installed
feedparser. Unless ``--corpus`` (or ``$NEWSWATCH_FEED_CORPUS``) names an extracted one, it is
fetched once with ``pip download`` into a cache outside the repository (``$XDG_CACHE_HOME`` or
``~/.cache``, under ``newswatch-bench/``); without it the benchmark says why and exits 0.
Third-party files are never copied into the repository.

Per entry feedparser returns with a link, ours must give the same link, the same title (both as
plain text) and the same date (published, else updated, to the second). A file "lost" is one
where feedparser returns linked entries and we return none.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

REPO = Path(__file__).resolve().parent.parent
ENV_VAR = "NEWSWATCH_FEED_CORPUS"
BASE = "http://corpus.example/tests/"
TARGET_AGREEMENT = 0.99
_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")


# --- the corpus ---------------------------------------------------------------------------


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newswatch-bench"


def find_corpus(explicit: str | None, version: str) -> tuple[Path | None, str]:
    """The corpus folder, or None and the reason it is unavailable."""
    chosen = explicit or os.environ.get(ENV_VAR)
    if chosen:
        path = Path(chosen)
        return (path, "") if path.is_dir() else (None, f"{path} is not a folder")
    target = cache_root() / f"feedparser-{version}-tests"
    if target.is_dir():
        return target, ""
    return _download(version, target)


def _pip() -> list[str] | None:
    for command in ([sys.executable, "-m", "pip"], [shutil.which("pip3") or ""], ["pip"]):
        if command[0] and _runs([*command, "--version"]):
            return command
    return None


def _runs(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, check=False).returncode == 0
    except OSError:
        return False


def _download(version: str, target: Path) -> tuple[Path | None, str]:
    pip = _pip()
    if pip is None:
        return None, "no pip to download feedparser's source distribution with"
    with tempfile.TemporaryDirectory() as tmp:
        spec = f"feedparser=={version}"
        args = ["download", spec, "--no-deps", "--no-binary", ":all:", "-q", "-d", tmp]
        done = subprocess.run([*pip, *args], capture_output=True, text=True, check=False)
        archives = list(Path(tmp).glob("feedparser-*.tar.gz"))
        if done.returncode or not archives:
            return None, f"pip download {spec} failed: {done.stderr.strip()[-300:]}"
        staging = Path(tmp) / "tests"
        count = _extract_tests(archives[0], staging)
        if not count:
            return None, f"the {spec} source distribution carries no test feeds"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), target)
    return target, ""


def _extract_tests(archive: Path, into: Path) -> int:
    """Only the regular files under <top>/tests/, flattened to paths below ``into``."""
    count = 0
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if len(parts) < 3 or parts[1] != "tests" or not member.isfile() or ".." in parts:
                continue
            source = tar.extractfile(member)
            if source is None:
                continue
            path = into.joinpath(*parts[2:])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(source.read())
            count += 1
    return count


def feed_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.xml") if p.is_file())


# --- reading both ways --------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    link: str
    title: str
    date: datetime | None
    from_id: bool = False  # feedparser's link is the entry's id, absent any link element


def plain(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def ours(data: bytes, url: str) -> list[Entry] | None:
    from newswatch.errors import ParseError
    from parsers.feeds import parse_feed

    try:
        entries = parse_feed(data, url)
    except ParseError:
        return None
    return [Entry(e.url, plain(e.title), _second(e.published or e.updated)) for e in entries]


def _second(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC).replace(microsecond=0) if value else None


def theirs(data: bytes, url: str) -> tuple[list[Entry], int]:
    """feedparser's entries that have an http(s) link, and how many entries it gave in all."""
    import feedparser

    parsed = feedparser.parse(data, response_headers={"content-location": url})
    found = []
    for e in parsed.entries:
        link = _absolute(e.get("link"), url)
        if link:
            from_id = bool(e.get("guidislink")) and not e.get("links")
            found.append(Entry(link, _their_title(e), _their_date(e), from_id))
    return found, len(parsed.entries)


def _absolute(link: Any, base: str) -> str | None:
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        resolved = urljoin(base, link.strip())
    except ValueError:
        return None
    return resolved if resolved.lower().startswith(("http://", "https://")) else None


def _their_title(entry: Any) -> str:
    title = entry.get("title") or ""
    kind = (entry.get("title_detail") or {}).get("type") or ""
    if any(t in kind for t in _HTML_TYPES):
        title = html.unescape(_TAGS.sub(" ", title))
    return plain(title)


def _their_date(entry: Any) -> datetime | None:
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    if stamp is None:
        return None
    return datetime(*stamp[:6], tzinfo=UTC)


# --- comparing ----------------------------------------------------------------------------


@dataclass
class Tally:
    files: int = 0
    entries: int = 0  # feedparser's linked entries, first of each link per file
    link: int = 0
    title: int = 0
    date: int = 0
    we_refuse: list[str] = field(default_factory=list)  # ParseError
    lost: list[str] = field(default_factory=list)  # theirs has entries, ours none
    # feedparser's link is a relative id it resolved; newswatch takes such an id for a name
    by_design: list[str] = field(default_factory=list)
    refused_with_entries: list[str] = field(default_factory=list)  # theirs has any, linked or not
    misses: list[str] = field(default_factory=list)  # one line per disagreement

    def add(self, name: str, mine: list[Entry] | None, theirs: tuple[list[Entry], int]) -> None:
        self.files += 1
        reference, their_total = theirs
        if mine is None:
            self.we_refuse.append(name)
            if their_total:
                self.refused_with_entries.append(name)
        by_link = {_key(e.link): e for e in reversed(mine or [])}
        seen: set[str] = set()
        for ref in reference:
            key = _key(ref.link)
            if key in seen:
                continue
            seen.add(key)
            if ref.from_id and key not in by_link:
                self.by_design.append(f"{name}: {ref.link}")
                continue
            self.entries += 1
            self._compare(name, by_link.get(key), ref)
        if any(not r.from_id for r in reference) and not mine:
            self.lost.append(name)

    def _compare(self, name: str, mine: Entry | None, ref: Entry) -> None:
        if mine is None:
            self.misses.append(f"{name}: link missing: {ref.link}")
            return
        self.link += 1
        if mine.title == ref.title:
            self.title += 1
        else:
            self.misses.append(f"{name}: title {mine.title!r} vs {ref.title!r}")
        if mine.date == ref.date:
            self.date += 1
        else:
            self.misses.append(f"{name}: date {mine.date} vs {ref.date}")


def _key(link: str) -> str:
    from parsers._common import without_tracking

    return without_tracking(link) or link


# --- undeclared legacy encodings --------------------------------------------------------

_EXPECTED_ENCODING = re.compile(rb"encoding == '([^']+)'")
_FIRST_TEXT = re.compile(rb"<(title|description)>(.*?)</\1>", re.DOTALL)


def legacy_encodings(root: Path) -> tuple[int, int, int]:
    """Entries of feedparser's undeclared-encoding tests (illformed/chardet), a link added to
    each so both can list it: how many, and how many each of us decodes right (the truth is
    the encoding its test names)."""
    import feedparser

    from parsers.feeds import parse_feed

    total = ours_right = theirs_right = 0
    for path in sorted((root / "illformed" / "chardet").glob("*.xml")):
        raw = path.read_bytes()
        named, text = _EXPECTED_ENCODING.search(raw), _FIRST_TEXT.search(raw)
        if b"<item>" not in raw or named is None or text is None:
            continue
        field = "title" if text.group(1) == b"title" else "summary"
        truth = _as_text(text.group(2).decode(named.group(1).decode().lower()))
        data = raw.replace(b"<item>", b"<item><link>http://corpus.example/a</link>", 1)
        mine = parse_feed(data, BASE)
        theirs = feedparser.parse(data).entries
        total += 1
        ours_right += bool(mine) and _as_text(getattr(mine[0], field)) == truth
        theirs_right += bool(theirs) and _as_text(theirs[0].get(field, "")) == truth
    return total, ours_right, theirs_right


def _as_text(value: str) -> str:
    """Entities decoded (twice: these tests escape some twice) and spaces collapsed, the same
    for the truth and for both parsers."""
    return plain(html.unescape(html.unescape(value)))


def timed(
    parsers: list[Callable[[bytes, str], object]], docs: list[tuple[bytes, str]], repeat: int
) -> list[float]:
    """Best CPU time of each parser over all documents (CPU time, not wall time, so other
    processes on a busy machine count little); passes alternate so both see the same load."""
    best = [float("inf")] * len(parsers)
    for _ in range(repeat):
        for i, parse in enumerate(parsers):
            started = time.process_time()
            for data, url in docs:
                parse(data, url)
            best[i] = min(best[i], time.process_time() - started)
    return best


def load(files: list[Path], root: Path) -> Iterator[tuple[str, bytes, str]]:
    for path in files:
        name = path.relative_to(root).as_posix()
        yield name, path.read_bytes(), BASE + name


def report(tally: Tally, ours_s: float, theirs_s: float, show: int) -> bool:
    def share(n: int) -> str:
        return f"{n}/{tally.entries} ({100 * n / max(1, tally.entries):.2f} %)"

    print(f"files: {tally.files}; feedparser's linked entries: {tally.entries}")
    print(
        f"agreement with feedparser  link {share(tally.link)}  title {share(tally.title)}"
        f"  date {share(tally.date)}   target >= {TARGET_AGREEMENT:.0%}"
    )
    print(
        f"not counted, by design: {len(tally.by_design)} entries whose only link is an id"
        " feedparser resolved as a relative URL (newswatch reads such an id as a name)"
    )
    print(
        f"files we refuse (ParseError): {len(tally.we_refuse)}; of them"
        f" {len(tally.refused_with_entries)} where feedparser gives entries (linked or not)"
    )
    for name in tally.refused_with_entries[:show]:
        print(f"  refused: {name}")
    print(f"files where we lose every entry feedparser recovers: {len(tally.lost)}  target 0")
    for name in tally.lost[:show]:
        print(f"  lost: {name}")
    print(
        f"CPU time: newswatch {ours_s:.3f} s, feedparser {theirs_s:.3f} s,"
        f" feedparser/newswatch {theirs_s / max(ours_s, 1e-9):.1f}x"
    )
    for line in tally.misses[:show]:
        print(f"  {line}")
    if len(tally.misses) > show:
        print(f"  … {len(tally.misses) - show} more disagreements (--show N)")
    worst = min(tally.link, tally.title, tally.date) / max(1, tally.entries)
    return worst >= TARGET_AGREEMENT and not tally.lost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", help="an extracted feedparser tests/ folder")
    parser.add_argument("--show", type=int, default=25, help="disagreements to list")
    parser.add_argument("--repeat", type=int, default=5, help="timing passes (best kept)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    try:
        import feedparser
    except ImportError:
        print("feedparser is not installed (make install adds the dev group): skipped")
        return 0
    root, why = find_corpus(args.corpus, feedparser.__version__)
    if root is None:
        print(f"feed corpus unavailable: {why}; skipped")
        return 0
    docs = list(load(feed_files(root), root))
    tally = Tally()
    for name, data, url in docs:
        tally.add(name, ours(data, url), theirs(data, url))
    pairs = [(data, url) for _, data, url in docs]
    ours_s, theirs_s = timed([ours, theirs], pairs, args.repeat)
    print(f"corpus: {root} (feedparser {feedparser.__version__})")
    met = report(tally, ours_s, theirs_s, args.show)
    total, mine, reference = legacy_encodings(root)
    print(
        f"undeclared legacy encodings (illformed/chardet, entries given a link): right"
        f" newswatch {mine}/{total}, feedparser {reference}/{total}"
    )
    print("targets met" if met else "targets missed")
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
