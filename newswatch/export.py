"""Developments as a terminal table, JSON or CSV: the stable shapes scripts read (see README)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from newswatch.models import Development
from newswatch.render import KIND_LABEL, plain

FORMATS = ("table", "json", "csv")
CSV_FIELDS = (
    "detected",
    "published",
    "kind",
    "topic",
    "title",
    "url",
    "source",
    "outlets",
    "terms",
    "nearest",
    "similarity",
    "figures",
    "text",
    "fingerprint",
)
LIST_SEPARATOR = "; "
# A spreadsheet runs a cell starting with one of these as a formula: page text must not.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC with an explicit offset, or None."""
    return dt.astimezone(UTC).isoformat() if dt else None


def figures(dev: Development) -> list[dict[str, str]]:
    """The figure changes a development reports: measure, before, after, sentence."""
    found = dev.reason.get("figures")
    if not isinstance(found, list):
        return []
    keys = ("measure", "before", "after", "sentence")
    return [{k: str(f.get(k, "")) for k in keys} for f in found if isinstance(f, dict)]


def record(dev: Development) -> dict[str, Any]:
    """One development as a JSON object; the field names are the stable export format."""
    similarity = dev.reason.get("similarity")
    nearest = dev.reason.get("nearest")
    return {
        "fingerprint": dev.fingerprint,
        "kind": dev.kind,
        "topic": dev.topic,
        "title": dev.title,
        "url": dev.url,
        "source": dev.source,
        "outlets": list(dev.outlets),
        "links": [{"source": s, "url": u} for s, u in dev.links],
        "published": iso(dev.published),
        "detected": iso(dev.detected),
        "terms": list(dev.terms),
        "nearest": nearest if isinstance(nearest, str) else None,
        "similarity": float(similarity) if isinstance(similarity, int | float) else None,
        "figures": figures(dev),
        "text": list(dev.text),
    }


def flat_record(dev: Development) -> dict[str, str]:
    """One development as one row of strings (CSV, Prefect table artifacts)."""
    rec = record(dev)
    changes = [f"{f['measure']}: {f['before']} → {f['after']}" for f in rec["figures"]]
    row = {
        **{k: "" if rec[k] is None else str(rec[k]) for k in ("published", "nearest")},
        **{k: LIST_SEPARATOR.join(rec[k]) for k in ("outlets", "terms")},
        "similarity": "" if rec["similarity"] is None else f"{rec['similarity']:.3f}",
        "figures": LIST_SEPARATOR.join(changes),
        "text": "\n".join(rec["text"]),
    }
    return {k: row[k] if k in row else str(rec[k]) for k in CSV_FIELDS}


def to_json(devs: Sequence[Development]) -> str:
    return json.dumps([record(d) for d in devs], ensure_ascii=False, indent=2) + "\n"


def _inert(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def to_csv(devs: Sequence[Development]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for dev in devs:
        writer.writerow({k: _inert(v) for k, v in flat_record(dev).items()})
    return out.getvalue()


def why(dev: Development) -> str:
    """One line saying why a development fired: terms, nearest story, figures, outlets."""
    rec = record(dev)
    parts = [f"terms {', '.join(rec['terms']) or 'none'}"]
    if rec["nearest"]:
        parts.append(f"nearest known story {rec['nearest']} (similarity {rec['similarity']:.2f})")
    else:
        parts.append("no similar story known")
    parts += [f"{f['measure']}: {f['before']} → {f['after']}" for f in rec["figures"]]
    return "; ".join(parts)


def _when(dt: datetime | None) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if dt else "unknown"


def to_table(devs: Sequence[Development]) -> str:
    """A few plain lines per development, for a terminal or a pager."""
    if not devs:
        return "no developments\n"
    blocks = []
    for dev in devs:
        label = KIND_LABEL.get(dev.kind, dev.kind)
        blocks.append(
            f"{_when(dev.detected)}  [{dev.topic}] {label}: {plain(dev.title or dev.url, 200)}\n"
            f"  {plain(dev.url)}\n"
            f"  outlets: {plain(', '.join(dev.outlets) or dev.source)}; "
            f"published {_when(dev.published)}\n"
            f"  why: {plain(why(dev))}\n"
        )
    return "\n".join(blocks)


def render(devs: Sequence[Development], fmt: str) -> str:
    """`devs` in one of FORMATS."""
    if fmt == "json":
        return to_json(devs)
    if fmt == "csv":
        return to_csv(devs)
    return to_table(devs)
