"""Publication-date accuracy and cost of newswatch against htmldate, on the dates-dev pages.

Run from the repository root:

    .venv/bin/python -m benchmarks.dates [--verbose]

The data set is ``../shared/benchmarks/dates-dev`` next to the repository, or the folder named
by ``$NEWSWATCH_DATES_DEV``; without it the benchmark says so and exits 0. A page counts as
right when the published date's own day (``.date()`` in the offset the page states) is the gold
day, as the data set's ``score.py`` counts it. Four readers run on the same pages in one
process, each after one untimed warm-up call: ``parsers.articles.parse_dates`` (metadata only),
``parse_article`` (what the pipeline calls, body extraction included), and htmldate's
``find_date`` in fast and extensive mode with ``original_date=True``. Times are per page, wall
and CPU; the ratios compare ``parse_dates`` with each htmldate mode.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DEV = REPO.parent / "shared" / "benchmarks" / "dates-dev"
ENV_VAR = "NEWSWATCH_DATES_DEV"

Reader = Callable[[bytes, str], date | None]


@dataclass(frozen=True)
class Result:
    """One reader's answers over the pages and what they cost."""

    name: str
    answers: dict[str, date | None]
    wall_s: float
    cpu_s: float
    errors: int

    def right(self, gold: dict[str, date]) -> int:
        return sum(1 for pid, day in gold.items() if self.answers.get(pid) == day)


def newswatch_dates(data: bytes, url: str) -> date | None:
    from parsers.articles import parse_dates

    published = parse_dates(data, url).published
    return published.date() if published else None


def newswatch_article(data: bytes, url: str) -> date | None:
    from parsers.articles import parse_article

    published = parse_article(data, url).published
    return published.date() if published else None


def htmldate_reader(extensive: bool) -> Reader:
    def read(data: bytes, url: str) -> date | None:
        from htmldate import find_date

        found = find_date(data, url=url, original_date=True, extensive_search=extensive)
        return date.fromisoformat(found[:10]) if found else None

    return read


READERS: dict[str, Reader] = {
    "newswatch parse_dates": newswatch_dates,
    "newswatch parse_article": newswatch_article,
    "htmldate fast": htmldate_reader(False),
    "htmldate extensive": htmldate_reader(True),
}


def dev_dir() -> Path:
    configured = os.environ.get(ENV_VAR)
    return Path(configured) if configured else DEFAULT_DEV


def load(data_dir: Path) -> tuple[dict[str, date], dict[str, str], dict[str, bytes]]:
    raw = json.loads((data_dir / "gold.json").read_text(encoding="utf-8"))
    gold = {pid: date.fromisoformat(entry["date"]) for pid, entry in raw.items()}
    urls = {pid: entry["url"] for pid, entry in raw.items()}
    pages = {
        pid: gzip.decompress((data_dir / "pages" / f"{pid}.html.gz").read_bytes()) for pid in raw
    }
    return gold, urls, pages


def measure(name: str, read: Reader, urls: dict[str, str], pages: dict[str, bytes]) -> Result:
    first = next(iter(pages))
    _safe(read, pages[first], urls[first])  # warm-up: imports and caches are not per page
    answers: dict[str, date | None] = {}
    errors = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for pid, data in pages.items():
        answers[pid], failed = _safe(read, data, urls[pid])
        errors += failed
    return Result(name, answers, time.perf_counter() - wall, time.process_time() - cpu, errors)


def _safe(read: Reader, data: bytes, url: str) -> tuple[date | None, bool]:
    try:
        return read(data, url), False
    except Exception:  # noqa: BLE001 - a crash counts as no date, as in score.py
        return None, True


def report(results: list[Result], gold: dict[str, date]) -> str:
    n = len(gold)
    lines = [
        f"{'reader':<26} {'same day':>12} {'no date':>8} {'errors':>6} {'ms/page':>8} {'cpu ms':>7}"
    ]
    for r in results:
        right = r.right(gold)
        none = sum(1 for pid in gold if r.answers.get(pid) is None)
        lines.append(
            f"{r.name:<26} {right:>4}/{n} {right / n:5.3f} {none:>8} {r.errors:>6}"
            f" {1000 * r.wall_s / n:8.2f} {1000 * r.cpu_s / n:7.2f}"
        )
    ours = results[0]
    for base in results[2:]:
        accuracy = ours.right(gold) / max(1, base.right(gold))
        lines.append(
            f"ratio parse_dates / {base.name}: accuracy {accuracy:.3f},"
            f" time per page {ours.wall_s / base.wall_s:.2f} (cpu {ours.cpu_s / base.cpu_s:.2f})"
        )
    return "\n".join(lines)


def misses(results: list[Result], gold: dict[str, date], urls: dict[str, str]) -> str:
    ours, ref = results[0], results[-1]
    rows = ["misses (id, gold, newswatch, htmldate extensive, url):"]
    for pid in sorted(gold, key=urls.__getitem__):
        if ours.answers.get(pid) != gold[pid]:
            rows.append(
                f"  {pid} {gold[pid]} {ours.answers.get(pid)} {ref.answers.get(pid)} {urls[pid]}"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--verbose", "-v", action="store_true", help="list newswatch's misses")
    args = parser.parse_args(argv)
    data_dir = dev_dir()
    if not (data_dir / "gold.json").is_file():
        print(f"skipped: dates dev set not found at {data_dir} (set {ENV_VAR})")
        return 0
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    gold, urls, pages = load(data_dir)
    print(f"data: {data_dir} ({len(gold)} pages)", flush=True)
    results = [measure(name, read, urls, pages) for name, read in READERS.items()]
    print(report(results, gold))
    if args.verbose:
        print(misses(results, gold, urls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
