"""`newswatch serve` honours per-source intervals: one monitor deployment per distinct interval."""

from __future__ import annotations

from pathlib import Path

from flows.serve import monitor_groups
from newswatch.config import load_config


def write(tmp_path: Path, sources: str) -> Path:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "defaults:\n  interval: 10m\nsources:\n" + sources + "topics:\n  - name: t\n    any: [x]\n",
        encoding="utf-8",
    )
    return cfg


def test_one_interval_is_one_monitor_over_all_sources(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        "  - name: a\n    feed: https://a.example/f\n  - name: b\n    feed: https://b.example/f\n",
    )
    assert monitor_groups(load_config(cfg)) == [("monitor", 600.0, None)]


def test_each_interval_gets_its_own_monitor(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        "  - name: a\n    feed: https://a.example/f\n"
        "  - name: live\n    page: https://a.example/live\n    interval: 2m\n"
        "  - name: slow\n    sitemap: https://c.example/s.xml\n    interval: 1h\n",
    )
    assert monitor_groups(load_config(cfg)) == [
        ("monitor-every-2m", 120.0, ["live"]),
        ("monitor", 600.0, ["a"]),
        ("monitor-every-1h", 3600.0, ["slow"]),
    ]
