"""The alert evaluation set loads and validates, and its scores are counted right."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from benchmarks.alerts_eval import (
    CASES_DIR,
    CATEGORIES,
    Alert,
    Case,
    Expected,
    evaluate,
    load_case_file,
    load_cases,
    main,
    score_step,
)
from newswatch.errors import ConfigError

A = "https://a.example/story"
B = "https://b.example/story"


def write(tmp_path: Path, text: str, name: str = "cases.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- the shipped set -------------------------------------------------------------------------


def test_every_case_file_loads_and_is_big_enough() -> None:
    files = sorted(CASES_DIR.glob("*.yaml"))
    assert files, "no case files shipped"
    for path in files:
        assert load_case_file(path), path.name
    cases = load_cases()
    positives = sum(len(s.expect) for c in cases for s in c.steps)
    quiet = sum(1 for c in cases for s in c.steps if not s.expect and not s.baseline)
    assert len(cases) >= 25
    assert positives + quiet >= 60
    assert {s.category for c in cases for s in c.steps} == set(CATEGORIES)


def test_every_label_names_a_page_and_topic_of_its_case() -> None:
    for case in load_cases():
        topics = {t.name for t in case.topics}
        for step in case.steps:
            urls = {o.url for o in step.observe}
            for e in step.expect:
                assert e.topic in topics and e.url in urls, (case.name, e)
            for o in step.observe:
                assert o.paragraphs and all(p.strip() for p in o.paragraphs), (case.name, o.url)


# --- schema errors -----------------------------------------------------------------------------

GOOD_STEP = """
      - observe:
          - source: s
            url: "https://a.example/story"
            paragraphs: [Russia and Ukraine held talks.]
        expect: [{topic: talks, kind: new_story, url: "https://a.example/story"}]
"""
GOOD_CASE = "cases:\n  - name: x\n    steps:" + GOOD_STEP


def edited(old: str, new: str, head: str = "category: new_story\n") -> str:
    """The good case file with one edit."""
    assert old in GOOD_CASE
    return head + GOOD_CASE.replace(old, new)


BAD_FILES = [
    ("unknown category", edited("", "", "category: nonsense\n"), "nonsense"),
    ("no cases", "category: new_story\ncases: []\n", "cases"),
    ("not a mapping", "- just a list\n", "mapping"),
    ("bad yaml", "category: [unclosed\n", "cannot read"),
    ("unknown case key", edited("name: x", "name: x\n    colour: red"), "colour"),
    ("step without expect", edited("        expect: [", "        #expect: ["), "expect"),
    ("unknown topic", edited("topic: talks", "topic: weather"), "weather"),
    ("url not observed", edited('url: "https://a.example/story"}', 'url: "https://else"}'), "else"),
    ("bad kind", edited("kind: new_story", "kind: scoop"), "scoop"),
    ("bad age", edited("source: s", "source: s\n            age: soon"), "age"),
    ("unquoted time is a number", edited("[Russia and Ukraine held talks.]", "[13:10]"),
     "paragraphs"),
    ("bad term", edited("", "", "category: new_story\ntopics: [{name: talks, any: ['*']}]\n"),
     "term"),
    ("baseline expecting alerts", edited("- observe:", "- baseline: true\n        observe:"),
     "baseline"),
]  # fmt: skip


@pytest.mark.parametrize("name,text,needle", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_case_files_are_config_errors(
    tmp_path: Path, name: str, text: str, needle: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_case_file(path)
    assert needle in str(info.value) and str(path) in str(info.value)


def test_duplicate_case_names_across_files(tmp_path: Path) -> None:
    case = "category: new_story\ncases:\n  - name: same\n    steps:" + GOOD_STEP
    write(tmp_path, case, "a.yaml")
    write(tmp_path, case, "b.yaml")
    with pytest.raises(ConfigError, match="same"):
        load_cases(tmp_path)


# --- scoring -----------------------------------------------------------------------------------


def e(topic: str, kind: str, url: str) -> Expected:
    return Expected(topic, kind, url)


def a(topic: str, kind: str, url: str, figure: bool = False) -> Alert:
    return Alert(topic, kind, url, figure=figure)


SCORES = [
    # (name, expected, produced, (hits, missed, extra, wrong kind))
    ("exact", [e("t", "new_story", A)], [a("t", "new_story", A)], (1, 0, 0, 0)),
    ("nothing expected, nothing sent", [], [], (0, 0, 0, 0)),
    ("missed", [e("t", "new_story", A)], [], (0, 1, 0, 0)),
    ("false alert", [], [a("t", "update", A)], (0, 0, 1, 0)),
    ("other page", [e("t", "new_story", A)], [a("t", "new_story", B)], (0, 1, 1, 0)),
    ("other topic", [e("t", "new_story", A)], [a("u", "new_story", A)], (0, 1, 1, 0)),
    ("wrong kind", [e("t", "figure", A)], [a("t", "update", A)], (0, 0, 0, 1)),
    ("figure rides on an update", [e("t", "figure", A)], [a("t", "update", A, True)], (1, 0, 0, 0)),
    ("figure rides on a story", [e("t", "figure", B)], [a("t", "new_story", B, True)],
     (1, 0, 0, 0)),
    ("two alerts where one was due", [e("t", "update", A)],
     [a("t", "update", A), a("t", "update", A)], (1, 0, 1, 0)),
    ("exact pairs first", [e("t", "update", A), e("t", "figure", A)],
     [a("t", "figure", A), a("t", "update", A)], (2, 0, 0, 0)),
]  # fmt: skip


@pytest.mark.parametrize("name,expected,produced,counts", SCORES, ids=[s[0] for s in SCORES])
def test_score_step(
    name: str, expected: list[Expected], produced: list[Alert], counts: tuple[int, ...]
) -> None:
    s = score_step(expected, produced)
    assert (len(s.hits), len(s.missed), len(s.extra), len(s.wrong_kind)) == counts


SMALL = """
category: wire_copy
cases:
  - name: copy
    steps:
      - category: new_story
        observe:
          - {source: a, url: "https://a.example/story", paragraphs: [x]}
        expect: [{topic: talks, kind: new_story, url: "https://a.example/story"}]
      - observe:
          - {source: b, url: "https://b.example/story", paragraphs: [x]}
        expect: []
  - name: live
    category: figure
    steps:
      - baseline: true
        observe: [{source: l, url: "https://l.example/live", kind: page, paragraphs: [x]}]
      - observe: [{source: l, url: "https://l.example/live", kind: page, paragraphs: [x, y]}]
        expect:
          - {topic: refugees, kind: figure, url: "https://l.example/live", says: ["660,000"]}
"""


def test_evaluate_counts_per_category(tmp_path: Path) -> None:
    """A scripted runner stands in for the pipeline, so the counts are known in advance."""
    cases = load_case_file(write(tmp_path, SMALL))
    script = {
        "copy": [[a("talks", "new_story", A)], [a("talks", "new_story", B)]],
        "live": [[], [Alert("refugees", "update", "https://l.example/live", ("no figure",))]],
    }

    def runner(case: Case) -> list[list[Alert]]:
        return script[case.name]

    report = evaluate(cases, runner)
    new, wire, fig = (report.tallies[c] for c in ("new_story", "wire_copy", "figure"))
    total = report.total
    assert (new.tp, new.fp, new.fn) == (1, 0, 0)
    assert (wire.tp, wire.fp, wire.quiet_steps, wire.quiet_ok) == (0, 1, 1, 0)
    assert (fig.tp, fig.wrong_kind, fig.quiet_steps) == (0, 1, 0)
    assert (total.tp, total.fp, total.fn, total.wrong_kind) == (1, 1, 0, 1)
    # strict: the kind mismatch is a false alert and a miss; lenient: a hit
    assert total.rates() == pytest.approx({"precision": 1 / 3, "recall": 1 / 2, "f1": 0.4})
    assert total.rates(lenient=True)["recall"] == 1.0
    assert wire.rates()["precision"] is None  # nothing to find: judged by its quiet steps
    assert sum(line.startswith("FP") for line in report.problems) == 1
    assert any(line.startswith("KIND") and "live step 2" in line for line in report.problems)


def test_text_checks_are_reported(tmp_path: Path) -> None:
    cases = load_case_file(write(tmp_path, SMALL))[1:]
    alert = Alert(
        "refugees", "figure", "https://l.example/live", ("fled: 500,000 → 600,000",), True
    )
    report = evaluate(cases, lambda case: [[], [alert]])
    assert report.total.tp == 1 and report.total.text_bad == 1
    assert any(line.startswith("TEXT") and "660,000" in line for line in report.problems)


REAL = """
category: new_story
cases:
  - name: real
    steps:
      - observe:
          - source: agency
            url: "https://agency.example/talks"
            title: Russia and Ukraine hold talks
            paragraphs:
              - Delegations from Russia and Ukraine held talks on the Belarusian border on Monday.
          - source: agency
            url: "https://agency.example/weather"
            title: Snow in Kyiv
            paragraphs: [Heavy snow fell on Kyiv overnight, closing several roads in Ukraine.]
        expect: [{topic: talks, kind: new_story, url: "https://agency.example/talks"}]
      - observe:
          - source: agency
            url: "https://agency.example/old"
            age: 5d
            title: Old talks
            paragraphs: [Russia and Ukraine said last week that talks on grain corridors stalled.]
        expect: []
"""


def test_main_runs_the_pipeline_and_prints_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the real pipeline: whatever it answers, every label and alert is accounted for."""
    write(tmp_path, REAL)
    assert main(["--json", "--cases", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["expected"] == 1 and summary["quiet_steps"] == 1
    assert summary["tp"] + summary["fn"] + summary["kind_mismatch"] == 1
    assert summary["categories"]["new_story"]["quiet_steps"] == 1
    lines = out.splitlines()
    for tag, count in (("FP", summary["fp"]), ("FN", summary["fn"])):
        assert sum(line.startswith(tag + " ") for line in lines) == count


def test_main_reports_bad_case_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "category: nonsense\n" + GOOD_CASE)
    assert main(["--cases", str(tmp_path)]) == 2
    assert "nonsense" in capsys.readouterr().err
