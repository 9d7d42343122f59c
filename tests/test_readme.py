"""The README's config example loads, so the documentation cannot drift from the loader."""

from __future__ import annotations

import re
from pathlib import Path

from newswatch.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def test_readme_config_example_is_a_valid_config(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", readme, re.S)
    assert block, "README has no ```yaml block"
    cfg = tmp_path / "readme.yaml"
    cfg.write_text(block.group(1), encoding="utf-8")
    env = {"SLACK_TOKEN": "t", "SMTP_USER": "u", "SMTP_PASS": "p", "PGPASSWORD": "x"}
    config = load_config(cfg, env=env)
    assert {s.kind for s in config.sources} == {"feed", "page", "sitemap", "listing"}
    assert [c.digest for c in config.channels] == [None, "daily 08:00", None]
    assert [c.health for c in config.channels] == [False, False, True]
    assert config.defaults.budget == 120 and config.defaults.alarm_after == 3
