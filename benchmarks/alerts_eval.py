"""Precision and recall of newswatch alerts on the labelled news-day cases in benchmarks/eval/cases.

Run from the repository root:

    .venv/bin/python -m benchmarks.alerts_eval [--json] [--cases DIR] [-k TEXT]

Each case gets a fresh SQLite store and feeds its steps' observations through
``newswatch.pipeline.record_observation``, as a monitor cycle would. The alerts it returns are
compared with the labels; the rules (what matches, how a kind mismatch counts) are in
``benchmarks/eval/README.md``. Nothing here knows what the pipeline will answer.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from newswatch.config import DurationError, parse_duration
from newswatch.errors import ConfigError, NewswatchError
from newswatch.matching import check_term
from newswatch.models import Config, Development, FetchSettings, Observation, Source, Topic
from newswatch.pipeline import Runtime, record_observation

CASES_DIR = Path(__file__).resolve().parent / "eval" / "cases"
CATEGORIES = ("new_story", "wire_copy", "same_topic", "live_update", "cosmetic", "figure",
              "figure_repeat", "off_topic", "old")  # fmt: skip
KINDS = ("new_story", "update", "figure")
DEFAULT_AGE = 3600.0
DEFAULT_TOPICS = (  # SPEC section 2
    Topic("talks", ("talks", "negotiat*", "ceasefire", "delegation*"), ("Russia*", "Ukrain*"),
          ("trade talks", "pay talks")),
    Topic("sanctions",
          ("sanction*", "asset freeze", "airspace", "SWIFT", "/export (ban|controls)/")),
    Topic("refugees", ("refugee*", "fled", "displaced", "crossed the border"), ("Ukrain*",),
          ("football",), (("fled", ("fled", "refugees")),)),
)  # fmt: skip


# --- the labelled cases ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expected:
    topic: str
    kind: str
    url: str
    says: tuple[str, ...] = ()  # the alert text must contain each of these
    not_says: tuple[str, ...] = ()  # and none of these (old text an update must not repeat)


@dataclass(frozen=True, slots=True)
class Seen:
    """One observation of a step; `age` is how long before the run it was published."""

    source: str
    url: str
    kind: str
    title: str
    paragraphs: tuple[str, ...]
    age: float = DEFAULT_AGE


@dataclass(frozen=True, slots=True)
class Step:
    observe: tuple[Seen, ...]
    expect: tuple[Expected, ...]
    category: str
    baseline: bool = False


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    file: str
    category: str
    topics: tuple[Topic, ...]
    steps: tuple[Step, ...]
    max_age: float = FetchSettings().max_age


_REQ = object()
_MAX_AGE = FetchSettings().max_age
# Every key a case file may use, its type and its default (_REQ: the key is required). A text
# must not be empty, a note may; a list must not be empty, items (a list of expectations) may.
_TYPES: dict[str, tuple[type, str]] = {
    "text": (str, "a non-empty string"), "note": (str, "a string"), "bool": (bool, "true or false"),
    "list": (list, "a non-empty list"), "items": (list, "a list"), "mapping": (dict, "a mapping"),
}  # fmt: skip
_FIELDS: dict[str, dict[str, tuple[str, object]]] = {
    "file": {"category": ("text", _REQ), "topics": ("list", None), "cases": ("list", _REQ)},
    "case": {"name": ("text", _REQ), "about": ("note", ""), "category": ("text", None),
             "topics": ("list", None), "max_age": ("seconds", _MAX_AGE), "steps": ("list", _REQ)},
    "step": {"observe": ("list", _REQ), "expect": ("items", None), "baseline": ("bool", False),
             "category": ("text", None), "note": ("note", "")},
    "observation": {"source": ("text", _REQ), "url": ("text", _REQ),
                    "kind": ("text", "article"), "title": ("note", ""),
                    "paragraphs": ("texts", _REQ), "age": ("seconds", DEFAULT_AGE)},
    "expectation": {"topic": ("text", _REQ), "kind": ("text", _REQ),
                    "url": ("text", _REQ), "says": ("texts", ()), "not_says": ("texts", ())},
    "topic": {"name": ("text", _REQ), "any": ("texts", _REQ), "all": ("texts", ()),
              "none": ("texts", ()), "measures": ("mapping", {})},
}  # fmt: skip


class _Reader:
    """Validates one case file and builds its cases; errors name the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(problem, path=self.path, key=key)

    def fields(self, value: object, what: str, key: str) -> dict[str, Any]:
        """The keys of a `what` mapping, type-checked, with defaults for the missing ones."""
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping ({what}), got {type(value).__name__}")
        spec = _FIELDS[what]
        unknown = sorted(str(k) for k in value if k not in spec)
        if unknown:
            raise self.fail(key, f"unknown key(s) for a {what}: {', '.join(unknown)}")
        out: dict[str, Any] = {}
        for name, (kind, default) in spec.items():
            where = f"{key}.{name}" if key else name
            if name in value:
                out[name] = self.typed(value[name], kind, where)
            elif default is _REQ:
                raise self.fail(where, f"a {what} needs this key")
            else:
                out[name] = default
        return out

    def typed(self, value: object, kind: str, key: str) -> Any:
        if kind == "seconds":
            try:
                return parse_duration(value)
            except DurationError as exc:
                raise self.fail(key, str(exc)) from None
        if kind == "texts":
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
                raise self.fail(key, "expected a string or a list of non-empty strings")
            return tuple(value)
        of_type, described = _TYPES[kind]
        empty = not (value.strip() if isinstance(value, str) else value)
        if not isinstance(value, of_type) or (empty and kind in ("text", "list")):
            raise self.fail(key, f"expected {described}, got {value!r:.40}")
        return value

    def one_of(self, value: str, allowed: Sequence[str], key: str) -> str:
        if value not in allowed:
            raise self.fail(key, f"{value!r} is not one of {', '.join(sorted(allowed))}")
        return value

    def topics(self, items: list[Any], key: str) -> tuple[Topic, ...]:
        return tuple(self.topic(t, f"{key}[{i}]") for i, t in enumerate(items))

    def topic(self, value: object, key: str) -> Topic:
        f = self.fields(value, "topic", key)
        for term in (*f["any"], *f["all"], *f["none"]):
            try:
                check_term(term)
            except ValueError as exc:
                raise self.fail(key, f"bad term {term!r}: {exc}") from None
        measures = f["measures"].items()
        cues = tuple((str(n), self.typed(c, "texts", f"{key}.measures.{n}")) for n, c in measures)
        return Topic(f["name"], f["any"], f["all"], f["none"], cues)

    def seen(self, value: object, key: str) -> Seen:
        f = self.fields(value, "observation", key)
        self.one_of(f["kind"], ("article", "page"), f"{key}.kind")
        return Seen(f["source"], f["url"], f["kind"], f["title"], f["paragraphs"], f["age"])

    def expected(self, value: object, key: str, topics: list[str], urls: list[str]) -> Expected:
        f = self.fields(value, "expectation", key)
        self.one_of(f["topic"], topics, f"{key}.topic")
        self.one_of(f["kind"], KINDS, f"{key}.kind")
        self.one_of(f["url"], urls, f"{key}.url")  # an alert names the page it came from
        return Expected(f["topic"], f["kind"], f["url"], f["says"], f["not_says"])

    def step(self, value: object, key: str, category: str, topics: list[str]) -> Step:
        f = self.fields(value, "step", key)
        seen = tuple(self.seen(o, f"{key}.observe[{i}]") for i, o in enumerate(f["observe"]))
        if f["expect"] is None and not f["baseline"]:
            raise self.fail(key, "every step but a baseline says what it expects (`expect: []`)")
        urls = [s.url for s in seen]
        raw = f["expect"] or []
        expect = tuple(
            self.expected(e, f"{key}.expect[{i}]", topics, urls) for i, e in enumerate(raw)
        )
        if f["baseline"] and expect:
            raise self.fail(key, "a baseline step sends nothing, so it cannot expect alerts")
        category = self.one_of(f["category"] or category, CATEGORIES, f"{key}.category")
        return Step(seen, expect, category, f["baseline"])

    def case(self, value: object, key: str, category: str, topics: tuple[Topic, ...]) -> Case:
        f = self.fields(value, "case", key)
        key = f"{key}({f['name']})"
        if f["topics"] is not None:
            topics = self.topics(f["topics"], f"{key}.topics")
        category = self.one_of(f["category"] or category, CATEGORIES, f"{key}.category")
        names = [t.name for t in topics]
        steps = tuple(
            self.step(s, f"{key}.steps[{i}]", category, names) for i, s in enumerate(f["steps"])
        )
        return Case(f["name"], Path(self.path).name, category, topics, steps, f["max_age"])


def load_case_file(path: Path) -> list[Case]:
    """The cases of one YAML file, validated; ConfigError naming the file and key otherwise."""
    reader = _Reader(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise reader.fail("", f"cannot read case file: {exc}") from None
    f = reader.fields(data, "file", "")
    category = reader.one_of(f["category"], CATEGORIES, "category")
    topics = reader.topics(f["topics"], "topics") if f["topics"] is not None else DEFAULT_TOPICS
    return [reader.case(c, f"cases[{i}]", category, topics) for i, c in enumerate(f["cases"])]


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    """Every case of every ``*.yaml`` file in `directory`, in file order; names must be unique."""
    cases = [c for p in sorted(directory.glob("*.yaml")) for c in load_case_file(p)]
    if not cases:
        raise ConfigError("no case files (*.yaml)", path=str(directory))
    seen: set[str] = set()
    for case in cases:
        if case.name in seen:
            raise ConfigError(f"case name {case.name!r} is used twice", path=case.file)
        seen.add(case.name)
    return cases


# --- running a case through the pipeline -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    """What the pipeline said would alert, reduced to what the labels compare."""

    topic: str
    kind: str
    url: str
    text: tuple[str, ...] = ()
    figure: bool = False  # the alert reports a figure change (it may ride on an update)
    why: str = ""


def _alert(dev: Development) -> Alert:
    reason = dev.reason
    figures = reason.get("figures") or []
    why = ", ".join(f"{k}={reason[k]}" for k in ("nearest", "similarity") if reason.get(k))
    return Alert(dev.topic, dev.kind, dev.url, dev.text, bool(figures), why)


def case_config(case: Case, store: str) -> Config:
    """A config with the case's topics and one source per source name its observations use."""
    settings = FetchSettings(max_age=case.max_age)
    kinds = {s.source: s.kind for step in case.steps for s in step.observe}
    sources = tuple(
        Source(name, "page" if kind == "page" else "feed", f"https://{name}.example/", settings)
        for name, kind in kinds.items()
    )
    return Config(f"<case {case.name}>", store, settings, sources, case.topics, ())


def run_case(case: Case) -> list[list[Alert]]:
    """The alerts each step produced, from a fresh store."""
    with tempfile.TemporaryDirectory(prefix="nw-eval-") as tmp:
        config = case_config(case, f"sqlite:///{Path(tmp) / 'eval.db'}")
        start = datetime.now(UTC)
        out: list[list[Alert]] = []
        with Runtime.open(config) as rt:
            for step in case.steps:
                alerts: list[Alert] = []
                for s in step.observe:
                    published = start - timedelta(seconds=s.age)
                    obs = Observation(s.source, s.url, s.kind, s.title, s.paragraphs, published)
                    devs = record_observation(rt, obs, baseline=step.baseline)
                    alerts.extend(_alert(d) for d in devs)
                out.append(alerts)
        return out


# --- scoring -----------------------------------------------------------------------------------


@dataclass
class StepScore:
    hits: list[tuple[Expected, Alert]] = field(default_factory=list)
    missed: list[Expected] = field(default_factory=list)
    extra: list[Alert] = field(default_factory=list)
    wrong_kind: list[tuple[Expected, Alert]] = field(default_factory=list)


def _agrees(e: Expected, a: Alert, strict: bool) -> bool:
    if (e.topic, e.url) != (a.topic, a.url):
        return False
    return not strict or a.kind == e.kind or (e.kind == "figure" and a.figure)


def _pair(
    expected: Sequence[Expected], left: list[Alert], strict: bool
) -> tuple[list[tuple[Expected, Alert]], list[Expected]]:
    """Pair each label with the first agreeing alert left, which it takes out of `left`."""
    pairs: list[tuple[Expected, Alert]] = []
    unpaired: list[Expected] = []
    for e in expected:
        a = next((a for a in left if _agrees(e, a, strict)), None)
        if a is None:
            unpaired.append(e)
        else:
            left.remove(a)
            pairs.append((e, a))
    return pairs, unpaired


def score_step(expected: Sequence[Expected], produced: Sequence[Alert]) -> StepScore:
    """Pair labels with alerts: first on (topic, url, kind), then what is left on (topic, url)."""
    left = list(produced)
    hits, rest = _pair(expected, left, strict=True)
    wrong_kind, missed = _pair(rest, left, strict=False)
    return StepScore(hits, missed, left, wrong_kind)


def text_problems(e: Expected, a: Alert) -> list[str]:
    """What a matched alert shows that it should not, or misses that it should."""
    shown = "\n".join(a.text)
    return [f"does not say {s!r}" for s in e.says if s not in shown] + [
        f"repeats {s!r}" for s in e.not_says if s in shown
    ]


@dataclass
class Tally:
    """Counts for one category (or all of them)."""

    cases: set[str] = field(default_factory=set)
    expected: int = 0
    quiet_steps: int = 0
    quiet_ok: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    wrong_kind: int = 0
    text_bad: int = 0

    def add(self, case: str, step: Step, s: StepScore, text_bad: int) -> None:
        self.cases.add(case)
        self.expected += len(step.expect)
        if not step.expect and not step.baseline:
            self.quiet_steps += 1
            self.quiet_ok += not s.extra
        self.tp += len(s.hits)
        self.fp += len(s.extra)
        self.fn += len(s.missed)
        self.wrong_kind += len(s.wrong_kind)
        self.text_bad += text_bad

    def rates(self, lenient: bool = False) -> dict[str, float | None]:
        """Precision, recall, F1; a kind mismatch is a miss and a false alert unless lenient."""
        tp = self.tp + (self.wrong_kind if lenient else 0)
        fp = self.fp + (0 if lenient else self.wrong_kind)
        fn = self.fn + (0 if lenient else self.wrong_kind)
        # A category with nothing to find (cosmetic, off_topic) has no precision: its score is
        # the share of quiet steps that stayed quiet.
        p = tp / (tp + fp) if tp + fp and self.expected else None
        r = tp / (tp + fn) if tp + fn else None
        f1 = 2 * p * r / (p + r) if p is not None and r is not None and p + r else None
        if p is not None and r is not None and not p + r:
            f1 = 0.0
        return {"precision": p, "recall": r, "f1": f1}

    def to_dict(self) -> dict[str, object]:
        counts = {k: getattr(self, k) for k in ("expected", "quiet_steps", "quiet_ok", "tp", "fp")}
        counts |= {"fn": self.fn, "kind_mismatch": self.wrong_kind, "text_problems": self.text_bad}
        return {"cases": len(self.cases), **counts, **self.rates(), "lenient": self.rates(True)}


@dataclass
class Report:
    tallies: dict[str, Tally] = field(default_factory=lambda: {c: Tally() for c in CATEGORIES})
    total: Tally = field(default_factory=Tally)
    problems: list[str] = field(default_factory=list)  # one line per FP, FN, mismatch, text issue

    def add(self, case: Case, index: int, step: Step, s: StepScore) -> None:
        where = f"{step.category:<13} {case.name} step {index}"
        lines = [f"FP  {where}: {_show(a)}" for a in s.extra]
        lines += [f"FN  {where}: {e.topic} {e.kind} {e.url}" for e in s.missed]
        lines += [f"KIND {where}: expected {e.kind}, got {_show(a)}" for e, a in s.wrong_kind]
        text = [f"TEXT {where}: {_show(a)} {p}" for e, a in s.hits for p in text_problems(e, a)]
        self.problems += lines + text
        for tally in (self.tallies[step.category], self.total):
            tally.add(case.name, step, s, len(text))


def _show(a: Alert) -> str:
    first = a.text[0] if a.text else ""
    short = first if len(first) <= 90 else first[:87] + "..."
    return f"{a.topic} {a.kind} {a.url} [{a.why or 'no near story'}] {short!r}"


Runner = Callable[[Case], list[list[Alert]]]


def evaluate(cases: Sequence[Case], runner: Runner = run_case) -> Report:
    """Run every case and score every step against its labels."""
    report = Report()
    for case in cases:
        for index, (step, alerts) in enumerate(zip(case.steps, runner(case), strict=True), 1):
            report.add(case, index, step, score_step(step.expect, alerts))
    return report


# --- output ------------------------------------------------------------------------------------


def _rate(value: float | None) -> str:
    return "    -" if value is None else f"{value:.3f}"


def _row(name: str, t: Tally) -> str:
    r = t.rates()
    quiet = f"{t.quiet_ok}/{t.quiet_steps}" if t.quiet_steps else "-"
    counts = f"{len(t.cases):>5} {t.expected:>8} {quiet:>7} {t.tp:>4} {t.fp:>4} {t.fn:>4}"
    rates = f"{_rate(r['precision']):>9} {_rate(r['recall']):>6} {_rate(r['f1']):>6}"
    return f"{name:<13} {counts} {t.wrong_kind:>5} {rates}"


def format_report(report: Report) -> str:
    """The per-category table, the overall line and every FP, FN, kind mismatch, text problem."""
    head = f"{'category':<13} {'cases':>5} {'expected':>8} {'quiet':>7} {'TP':>4} {'FP':>4} "
    head += f"{'FN':>4} {'kind!':>5} {'precision':>9} {'recall':>6} {'F1':>6}"
    rows = [_row(c, t) for c, t in report.tallies.items() if t.cases]
    lenient = report.total.rates(lenient=True)
    lines = [head, *rows, "-" * len(head), _row("overall", report.total), ""]
    lines.append(
        "kind! = right topic and page, wrong kind: counted as FP + FN above; ignoring kind: "
        f"precision {_rate(lenient['precision'])}, recall {_rate(lenient['recall'])}, "
        f"F1 {_rate(lenient['f1'])}"
    )
    lines.append("quiet = steps that must not alert and did not / such steps")
    lines += ["", "Problems (FP false alert, FN missed alert, KIND wrong kind, TEXT alert text):"]
    return "\n".join(lines + (report.problems or ["  none"]))


def summary(report: Report, seconds: float) -> dict[str, object]:
    categories = {c: t.to_dict() for c, t in report.tallies.items() if t.cases}
    return {**report.total.to_dict(), "seconds": round(seconds, 2), "categories": categories}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="end with one line of JSON")
    parser.add_argument("--cases", type=Path, default=CASES_DIR, help="folder of case files")
    parser.add_argument("-k", dest="only", help="run only cases whose name contains this")
    args = parser.parse_args(argv)
    try:
        cases = load_cases(args.cases)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cases = [c for c in cases if not args.only or args.only in c.name]
    started = time.perf_counter()
    try:
        report = evaluate(cases)
    except NewswatchError as exc:
        print(f"error: the pipeline failed: {exc}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    steps = sum(len(c.steps) for c in cases)
    t = report.total
    print(
        f"newswatch alert evaluation: {len(cases)} cases, {steps} steps, {t.expected} expected "
        f"alerts, {t.quiet_steps} steps that must stay quiet; {seconds:.1f} s\n"
    )
    print(format_report(report))
    if args.json:
        print(json.dumps(summary(report, seconds), separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
