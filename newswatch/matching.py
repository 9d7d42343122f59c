"""Topic rules to evidence: terms compiled once per topic, found in titles, paragraphs, sentences.

Term syntax (SPEC 2), checked by the config loader through :func:`check_term`:

- case-insensitive, whole words (Unicode letters: Cyrillic, Greek, accented Latin all work);
- ``*`` at the end of a word matches any word ending: ``negotiat*`` matches "negotiations";
- several words match as a phrase, with any run of whitespace (including no-break spaces)
  between them;
- ``/…/`` is an RE2 regular expression searched case-insensitively, as written, in time linear
  in the text: it gets no word boundaries of its own (add ``\\b`` where you need them;
  ``(?-i:…)`` makes a part case-sensitive). RE2 has no backreferences or lookarounds (such a
  term is refused), and its ``\\w``, ``\\b`` and ``\\d`` are ASCII (``\\pL`` is any letter);
- straight and curly apostrophes are the same character: ``Russia's`` matches "Russia’s".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import re2

from newswatch.models import Match, Topic

__all__ = [
    "CompiledTopic",
    "check_term",
    "compile_topics",
    "evidence_sentences",
    "match_topics",
    "split_sentences",
]

_APOSTROPHES = frozenset("'\u2018\u2019\u02bc\u2032")
_APOSTROPHE_CLASS = "['\u2018\u2019\u02bc\u2032]"
_WORD_CHAR = re.compile(r"\w")


def _is_regex_term(term: str) -> bool:
    return len(term) >= 2 and term.startswith("/") and term.endswith("/")


def _starts_with_word(text: str) -> bool:
    return _WORD_CHAR.match(text) is not None


def _word_pattern(word: str) -> str:
    wildcard = word.endswith("*")
    core = word[:-1] if wildcard else word
    if not core or "*" in core:
        raise ValueError("'*' is only allowed at the end of a word, after at least one letter")
    body = "".join(_APOSTROPHE_CLASS if ch in _APOSTROPHES else re.escape(ch) for ch in core)
    return body + (r"\w*" if wildcard else "")


def _phrase_source(text: str) -> str:
    """The pattern of a word or phrase term, to be searched in lowercased text."""
    body = r"\s+".join(_word_pattern(w) for w in text.lower().split())
    if _starts_with_word(text):
        # The word-start check sits after the first letter (re.escape leaves letters alone)
        # so the pattern opens with a literal that re can skip to: ~4x faster than \b first.
        body = body[0] + r"(?<!\w.)" + body[1:]
    # Boundaries only where the term starts or ends with a word character, so "U.N." or
    # "C++" still match before punctuation.
    return body + (r"\b" if text.endswith("*") or _WORD_CHAR.match(text[-1]) else "")


class LinearRegex:
    """A ``/…/`` term run by RE2, whose search time is linear in the text (no catastrophic
    backtracking), case-insensitive unless the pattern says ``(?-i:…)``."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        options = re2.Options()
        options.case_sensitive = False
        options.log_errors = False  # the reason goes into our ValueError, not to stderr
        try:
            self._compiled = re2.compile(pattern, options)
        except re2.error as exc:
            raise ValueError(_re2_problem(exc)) from None
        self.pattern = pattern

    def search(self, text: str, /) -> object | None:
        found: object | None = self._compiled.search(text)
        return found

    def finditer(self, text: str, /) -> Iterator[Any]:
        """RE2 matches; their ``span()`` counts characters, as ``re`` does."""
        return iter(self._compiled.finditer(text))


def _re2_problem(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else exc
    detail = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
    return (
        f"{detail} (RE2 syntax: no backreferences or lookarounds, which cannot run in linear time)"
    )


def _regex(text: str) -> LinearRegex:
    body = text[1:-1]
    if not body:
        raise ValueError("an empty regular expression // matches anything")
    try:
        compiled = LinearRegex(body)
    except ValueError as exc:
        raise ValueError(f"invalid regular expression {text}: {exc}") from None
    if compiled.search("") is not None:
        raise ValueError(f"regular expression {text} matches empty text, so it matches anything")
    return compiled


def check_term(term: str) -> None:
    """Raise ValueError, saying why, when `term` is not a usable term."""
    Term.build(term)


@dataclass(frozen=True, slots=True)
class Term:
    text: str  # as the config spells it
    pattern: (
        re.Pattern[str] | LinearRegex
    )  # re.Pattern for words and phrases, LinearRegex for /…/ terms
    on_lowered: bool  # word and phrase terms search lowercased text; /regex/ terms the original

    @classmethod
    def build(cls, term: str) -> Term:
        text = term.strip()
        if not text:
            raise ValueError("a term cannot be empty")
        if _is_regex_term(text):
            return cls(text, _regex(text), False)
        return cls(text, re.compile(_phrase_source(text)), True)

    def occurs(self, text: str, lowered: str) -> bool:
        return self.pattern.search(lowered if self.on_lowered else text) is not None


@dataclass(frozen=True, slots=True)
class _TermSet:
    """One list of terms (any, all or none), compiled once."""

    terms: tuple[Term, ...]  # de-duplicated, in config order
    # Word and phrase terms share one alternation over lowercased text; regex terms stay
    # separate because their groups, backreferences and inline flags would clash in it.
    words: re.Pattern[str] | None
    regexes: tuple[re.Pattern[str] | LinearRegex, ...]

    @classmethod
    def build(cls, terms: Iterable[str]) -> _TermSet:
        built = tuple(Term.build(t) for t in dict.fromkeys(t.strip() for t in terms))
        words = [f"(?:{t.pattern.pattern})" for t in built if isinstance(t.pattern, re.Pattern)]
        combined = re.compile("|".join(words)) if words else None
        return cls(built, combined, tuple(t.pattern for t in built if not t.on_lowered))

    def search(self, text: str, lowered: str) -> bool:
        if self.words is not None and self.words.search(lowered) is not None:
            return True
        return any(p.search(text) is not None for p in self.regexes)

    def found_in(self, texts: Sequence[tuple[str, str]]) -> tuple[str, ...]:
        return tuple(t.text for t in self.terms if any(t.occurs(x, low) for x, low in texts))


@dataclass(frozen=True, slots=True)
class CompiledTopic:
    """A topic with its `any`, `all` and `none` lists compiled once, ready for the hot path."""

    topic: Topic
    any: _TermSet
    all: _TermSet
    none: _TermSet

    @classmethod
    def build(cls, topic: Topic) -> CompiledTopic:
        lists = (_TermSet.build(topic.any), _TermSet.build(topic.all), _TermSet.build(topic.none))
        return cls(topic, *lists)

    @property
    def name(self) -> str:
        return self.topic.name

    def match(self, title: str, paragraphs: Sequence[str]) -> Match | None:
        """The topic's match on an article (title + body), or None when its rules say no."""
        return self._match([(t, t.lower()) for t in (title, *paragraphs) if t])

    def _match(self, texts: Sequence[tuple[str, str]]) -> Match | None:
        hits = [pair for pair in texts if self.any.search(*pair)]
        if not hits:
            return None
        if any(self.none.search(*pair) for pair in texts):
            return None
        for term in self.all.terms:
            if not any(term.occurs(*pair) for pair in texts):
                return None
        terms = dict.fromkeys(self.any.found_in(hits) + tuple(t.text for t in self.all.terms))
        evidence = dict.fromkeys(text for text, _ in hits)  # a repeated paragraph counts once
        return Match(topic=self.topic.name, terms=tuple(terms), evidence=tuple(evidence))


def compile_topics(topics: Iterable[Topic]) -> list[CompiledTopic]:
    """Compile every topic once; ValueError on a bad term (load_config reports those first)."""
    return [CompiledTopic.build(t) for t in topics]


def match_topics(
    compiled: Iterable[CompiledTopic], title: str, paragraphs: Sequence[str]
) -> list[Match]:
    """Every topic that matches the article, in the order the topics were given."""
    texts = [(t, t.lower()) for t in (title, *paragraphs) if t]  # lowered once for all topics
    return [m for ct in compiled if (m := ct._match(texts)) is not None]


def evidence_sentences(
    compiled_topic: CompiledTopic, paragraphs: Iterable[str], limit: int = 3
) -> list[str]:
    """Distinct sentences containing one of the topic's `any` terms, in order, at most `limit`."""
    found: dict[str, None] = {}
    if limit <= 0:
        return []
    for paragraph in paragraphs:
        if not paragraph or not compiled_topic.any.search(paragraph, paragraph.lower()):
            continue
        for sentence in split_sentences(paragraph):
            if compiled_topic.any.search(sentence, sentence.lower()):
                found[sentence] = None
                if len(found) >= limit:
                    return list(found)
    return list(found)


# --- sentences ------------------------------------------------------------------------------


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# The look-behind makes a long run of "!!!!" cost one attempt, not one per character.
_BOUNDARY = re.compile(r"(?<![.!?\u2026])([.!?\u2026]+)[\"'\u201d\u2019\u00bb)\]]*\s+")
_OPENERS = "\"'\u201c\u2018\u00ab([\u2014-"
_ACRONYM = re.compile(r"(?:[^\W\d_]\.)*[^\W\d_]")  # "U.N", "p.m", and single initials "F"
# Abbreviations that come before a name and so are never the end of a sentence.
_TITLES = _wordset(
    "mr mrs ms mx dr prof st mt ft gen lt col sgt capt cpl cmdr adm maj brig gov sen rep "
    "rev hon pres supt insp det fr messrs mme mlle sr jr vs v e.g i.e cf approx ca al"
)
# Abbreviations that end a sentence unless a number follows: "No. 10", "Feb. 28", "Art. 5".
_BEFORE_NUMBER = _wordset(
    "no nos art vol fig p pp para sec ch jan feb mar apr jun jul aug sep sept oct nov dec"
)
# After an initial, an acronym or a company suffix, only a typical first word starts a sentence.
_WEAK = _wordset("inc ltd co corp bros plc")
_STARTERS = _wordset(
    "the a an it he she they we i you but and so yet this that these those there here in on "
    "at by for from with after before when while as if however meanwhile his her their its "
    "our my some many most no one two three officials police"
)


def _is_boundary(text: str, start: int, end: int, terminator: str) -> bool:
    following = text[end : end + 40].split(maxsplit=1)
    word = following[0].lstrip(_OPENERS) if following else ""
    if not word or word[0].islower():
        return False
    if terminator != ".":
        return True
    before = text[max(0, start - 40) : start].rsplit(maxsplit=1)
    token = before[-1].lstrip(_OPENERS).lower() if before else ""
    if token in _TITLES:
        return False
    if token in _BEFORE_NUMBER and word[0].isdigit():
        return False
    if token in _WEAK or _ACRONYM.fullmatch(token):
        return word.lower().rstrip(",;:") in _STARTERS
    return True


def split_sentences(text: str) -> list[str]:
    """Split news prose into sentences; a line break always ends one.

    Knows titles ("Mr.", "St."), dotted acronyms ("U.N."), initials, "No. 10", decimals
    ("1.5 million") and closing quotes after the full stop. Lowercase after a full stop or a
    question mark continues the sentence ('"Why?" he asked').
    """
    sentences: list[str] = []
    for line in text.splitlines():
        start = 0
        for m in _BOUNDARY.finditer(line):
            if _is_boundary(line, m.start(), m.end(), m.group(1)):
                sentences.append(line[start : m.end()].strip())
                start = m.end()
        sentences.append(line[start:].strip())
    return [s for s in sentences if s]
