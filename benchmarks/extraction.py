"""Article-body accuracy and speed of parse_article against plain trafilatura, on the dev set.

Run from the repository root:

    .venv/bin/python -m benchmarks.extraction [--limit N] [--per-page DIR]

The data set is ``../shared/benchmarks/extraction-dev`` next to the repository, or the folder
named by ``$NEWSWATCH_EXTRACTION_DEV``; without it the benchmark says so and exits 0. The metric
is the data set's own ``score.py`` (imported from there, not copied). Each extractor runs in a
fresh process, one after the other, so neither inherits the other's warm caches and they never
compete for the CPU.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DEV = REPO.parent / "shared" / "benchmarks" / "extraction-dev"
ENV_VAR = "NEWSWATCH_EXTRACTION_DEV"
METRICS = ("f1", "precision", "recall", "accuracy")


def baseline_extract(html: str, url: str | None) -> str:
    """trafilatura as the data set's reference numbers were taken: comments off, default focus."""
    import trafilatura

    text = trafilatura.extract(
        html, url=url, include_comments=False, favor_precision=False, favor_recall=False
    )
    return text or ""


def newswatch_extract(html: str, url: str | None) -> str:
    """parse_article's body, as the text the rest of newswatch sees."""
    from parsers.articles import parse_article

    return parse_article(html, url).text


EXTRACTORS = {"trafilatura": baseline_extract, "newswatch": newswatch_extract}


def dev_dir() -> Path:
    """Where the dev set should be: ``$NEWSWATCH_EXTRACTION_DEV``, else next to the repository."""
    configured = os.environ.get(ENV_VAR)
    return Path(configured) if configured else DEFAULT_DEV


def has_dev_set(path: Path) -> bool:
    return (path / "ground-truth.json").is_file() and (path / "score.py").is_file()


def load_score(data_dir: Path) -> ModuleType:
    """The data set's own ``score.py``, imported from its folder."""
    spec = importlib.util.spec_from_file_location("extraction_dev_score", data_dir / "score.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {data_dir / 'score.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(name: str, data_dir: str, limit: int | None, per_page: str | None) -> dict[str, Any]:
    """Run one extractor over the pages and score it (called in a fresh child process)."""
    warnings.simplefilter("ignore")  # dateutil warns on every "IST"-style zone it cannot place
    score = load_score(Path(data_dir))
    truth = score.load_ground_truth(Path(data_dir))
    ids = sorted(truth)[:limit] if limit else sorted(truth)
    predictions, times, cpu_times, errors = score.run_extractor(
        EXTRACTORS[name], Path(data_dir), ids, truth, 1, False
    )
    scores = [score.PageScore(truth[i].get("articleBody") or "", predictions[i]) for i in ids]
    result: dict[str, Any] = dict(score.aggregate(scores))
    result.update(
        name=name,
        pages=len(ids),
        errors=len(errors),
        empty=sum(1 for s in scores if not s.has_prediction),
        pages_per_s=len(ids) / sum(times.values()),
        cpu_pages_per_s=len(ids) / max(sum(cpu_times.values()), 1e-9),
    )
    if per_page:
        _write_per_page(Path(per_page) / f"{name}.jsonl", ids, scores, truth)
    return result


def _write_per_page(path: Path, ids: list[str], scores: list[Any], truth: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for page_id, page in zip(ids, scores, strict=True):
            row = {"id": page_id, "url": truth[page_id].get("url"), "recall": page.recall}
            row["precision"] = page.precision if page.has_prediction else None
            out.write(json.dumps(row) + "\n")


def run_isolated(name: str, data_dir: Path, limit: int | None, per_page: str | None) -> Any:
    """``measure`` in a fresh interpreter, so caches warmed by one extractor do not help another."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(measure, (name, str(data_dir), limit, per_page))


def report(results: list[dict[str, Any]]) -> str:
    """A table of both extractors and the newswatch/baseline ratios."""
    lines = [f"{'extractor':<12} {'F1':>6} {'prec':>6} {'recall':>6} {'pages/s':>8} {'cpu p/s':>8}"]
    for r in results:
        lines.append(
            f"{r['name']:<12} {r['f1']:6.3f} {r['precision']:6.3f} {r['recall']:6.3f}"
            f" {r['pages_per_s']:8.1f} {r['cpu_pages_per_s']:8.1f}"
            f"   ({r['pages']} pages, {r['errors']} errors, {r['empty']} empty)"
        )
    base, ours = results
    lines.append(
        f"{'ratio':<12} {ours['f1'] / base['f1']:6.3f} {ours['precision'] / base['precision']:6.3f}"
        f" {ours['recall'] / base['recall']:6.3f} {ours['pages_per_s'] / base['pages_per_s']:8.2f}"
        f" {ours['cpu_pages_per_s'] / base['cpu_pages_per_s']:8.2f}   (newswatch / trafilatura)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--limit", type=int, help="only the first N pages (sorted by id)")
    parser.add_argument("--per-page", metavar="DIR", help="write per-page scores as JSON lines")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args(argv)
    data_dir = dev_dir()
    if not has_dev_set(data_dir):
        print(
            f"skipped: extraction dev set not found at {data_dir} "
            f"(set {ENV_VAR} to the folder holding ground-truth.json and score.py)"
        )
        return 0
    print(f"data: {data_dir}", flush=True)
    results = [run_isolated(name, data_dir, args.limit, args.per_page) for name in EXTRACTORS]
    print(report(results))
    if args.json:
        print(
            json.dumps({r["name"]: {k: r[k] for k in (*METRICS, "pages_per_s")} for r in results})
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
