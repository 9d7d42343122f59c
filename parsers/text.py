"""Paragraph hygiene shared by the parsers: whitespace, boilerplate lines and comparison keys."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Zero-width space, word joiner, BOM and soft hyphen carry no text; ZWJ/ZWNJ are kept because
# Persian, Indic scripts and emoji sequences need them.
_INVISIBLE = re.compile("[\u200b\u2060\ufeff\u00ad]")
_SPACE = re.compile(r"\s+")

# Boilerplate is only ever recognised on short paragraphs, so a long real sentence that happens
# to start with a cue word ("Follow-up talks ...") is never at risk.
_SHORT = 160
_MEDIUM = 320

_CONSENT_CUE = re.compile(
    r"\b(cookies?|consent|einwilligung|zustimmung|consentement|consentimiento|consenso"
    r"|согласие|згод[уаи])\b",
    re.IGNORECASE,
)
_CONSENT_ACTION = re.compile(
    r"manage (?:your )?preferences|privacy settings|cookie settings|accept(?: all)?\b"
    r"|allow (?:all )?cookies|enable cookies|to load this|load (?:the|this) content"
    r"|akzeptieren|zulassen|accepter|paramétrer|aceptar|accettare|принять|прийняти",
    re.IGNORECASE,
)

_LINK_WORDS = (
    r"^(?:read (?:more|also|next)|related(?: (?:stories|articles|content|coverage|news))?"
    r"|see also|also read|more on this(?: story)?|more from|watch|listen|recommended"
    r"|lire aussi|à lire aussi|voir aussi|lesen sie auch|mehr zum thema|auch interessant"
    r"|leer más|lea también|lee también|ver también|leia (?:mais|também)|veja também"
    r"|leggi anche|lees ook|czytaj (?:też|także)|читайте (?:также|тоже)|читайте також"
    r"|смотрите также|дивіться також)\b"
)
# "Read more: <headline>" on one line, or a bare "Read more:" header over a block of links.
_LINK_PREFIX = re.compile(_LINK_WORDS + r"\s*[:：>»|\-–—]", re.IGNORECASE)
_LINK_HEADER = re.compile(_LINK_WORDS + r"\s*[:：>»]?\s*$", re.IGNORECASE)

_SOCIAL = re.compile(
    r"^(?:(?:click here to |please )?(?:share|tweet|email) (?:this|on|via|the) (?:article|story"
    r"|page|facebook|twitter|x\b|whatsapp|linkedin|email|link)"
    r"|follow (?:us|\w+(?: \w+)? (?:news )?on (?:facebook|twitter|x|instagram|telegram|tiktok"
    r"|youtube|linkedin|whatsapp|threads|bluesky|mastodon))"
    r"|follow us\b|like us on"
    r"|(?:click here to |please )?(?:subscribe|sign up|register)\b.{0,60}"
    r"\b(?:newsletter|alerts?|updates|briefing|channel|podcast|email|inbox)"
    r"|get (?:the|our) .{0,40}(?:newsletter|app|alerts)|download (?:the|our) .{0,30}app"
    r"|join (?:us|our) (?:on|channel)|abonnez-vous|abonnieren sie|suscríbete|iscriviti"
    r"|подписывайтесь|підписуйтесь)",
    re.IGNORECASE,
)

_AD = re.compile(
    r"^(?:advertisement|advertising|sponsored(?: content)?|ad|ads by \w+|anzeige|werbung"
    r"|publicité|publicidad|pubblicità|publicidade|реклама"
    r"|(?:story|article) continues (?:below|after)(?: (?:this|the))? (?:advertisement|ad)"
    r"|continue reading (?:below|the main story)"
    r"|advertisement[ -]+scroll to continue(?: with content)?"
    r"|skip (?:advertisement|ad))[.:]?$",
    re.IGNORECASE,
)

_CREDIT = re.compile(
    r"^(?:image caption\b|media caption\b|(?:photo(?:graph)?|image|picture"
    r"|pic|credit|source|foto|bild|fotografía|immagine|фото|світлина)s?(?: credits?| by)?\s*[:©])",
    re.IGNORECASE,
)
# A short "© Getty Images" is a picture credit; a long copyright notice is the publisher's own text.
_CREDIT_LINE = 80
_COPYRIGHT = re.compile(r"^(?:©|\(c\)\s|copyright\b)", re.IGNORECASE)
_CREDIT_TAIL = re.compile(
    r"(?:\((?:photo|image|picture|credit|foto)[^()]{1,80}\)|\b(?:photo(?:graph)?|image|picture"
    r"|credit|foto|bild)(?: by)?\s*[:©]\s*[^.!?]{1,60}|getty images|/ ?(?:reuters|afp|ap|epa|dpa))"
    r"\s*\.?$",
    re.IGNORECASE,
)

_UPDATED = re.compile(
    r"^(?:(?:last )?(?:updated?|modified|edited|published|posted|first published)(?: on| at)?"
    r"|aktualisiert(?: am)?|veröffentlicht(?: am)?|stand|mis à jour(?: le)?|publié(?: le)?"
    r"|actualizado(?: el)?|publicado(?: el| em)?|atualizado(?: em)?|aggiornato(?: il)?"
    r"|pubblicato(?: il)?|обновлено|опубликовано|оновлено|опубліковано)\b\s*[:\-–—]?",
    re.IGNORECASE,
)
_MONTHS = (
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july"
    " august september october november december januar februar märz mai juni juli oktober"
    " dezember janvier février mars avril juin juillet août septembre octobre novembre décembre"
    " janv févr avr juil déc enero febrero marzo abril mayo junio julio agosto septiembre"
    " octubre noviembre diciembre ene abr ago dic gennaio febbraio aprile maggio giugno luglio"
    " settembre ottobre dicembre janeiro fevereiro março maio junho julho setembro outubro"
    " dezembro января февраля марта апреля мая июня июля августа сентября октября ноября"
    " декабря січня лютого березня квітня травня червня липня серпня вересня жовтня"
    " листопада грудня"
)
_DAYS = (
    "mon tue tues wed thu thur thurs fri sat sun monday tuesday wednesday thursday friday"
    " saturday sunday montag dienstag mittwoch donnerstag freitag samstag sonntag lundi mardi"
    " mercredi jeudi vendredi samedi dimanche lunes martes miércoles jueves viernes sábado"
    " domingo"
)
_TIME_WORDS = (
    "am pm a.m p.m gmt utc bst cet cest eet eest est edt et pt pst pdt ist msk ago hour hours hr"
    " hrs minute minutes min mins seconds days weeks today yesterday uhr h"
    " 年 月 日 时 時 分 년 월 일 시 분"
)
# Connectives that may sit between date words but never make a line a time stamp on their own.
_FILLER_WORDS = frozenset(
    ("at", "on", "local", "time", "just", "now", "le", "à", "el", "de", "del", "em", "il")
    + ("и", "в", "о", "the", "of", "by", "um")
)
_DATE_WORDS = frozenset((_MONTHS + " " + _DAYS + " " + _TIME_WORDS).split())
_TOKEN = re.compile(r"[^\W\d_]+(?:\.[^\W\d_]+)*\.?|\d+")
_CLOCK = re.compile(r"\b\d{1,2}[:.h]\d{2}\b|\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b", re.IGNORECASE)
_NON_WORD = re.compile(r"[^\w]+")


def normalise_space(text: str) -> str:
    """Collapse every run of Unicode whitespace to one space and drop invisible characters."""
    return _SPACE.sub(" ", _INVISIBLE.sub("", unicodedata.normalize("NFC", text))).strip()


def paragraph_key(text: str) -> str:
    """A comparison form of a paragraph: casefolded, punctuation and spacing collapsed, digits kept.

    Two fetches of the same paragraph that differ only in quotes, dashes, spacing, case or
    compatibility characters (full-width digits, ligatures) get the same key.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", _NON_WORD.sub(" ", folded).replace("_", " ")).strip()


def clean_paragraphs(paragraphs: Iterable[str], *, repeat_below: int = 0) -> list[str]:
    """Normalise whitespace and drop empty, boilerplate and exactly repeated paragraphs, in order.

    A bare "Read more:" / "Related:" header also takes with it the headline-like lines (short,
    no closing punctuation) that directly follow it, since those are the links it introduces.
    Paragraphs shorter than ``repeat_below`` characters may repeat (the same question put to
    each guest of an interview); longer repeats are pull quotes or doubled blocks and go.
    """
    kept: list[str] = []
    seen: set[str] = set()
    in_link_block = 0
    for raw in paragraphs:
        text = normalise_space(raw)
        if not text:
            continue
        if in_link_block and is_headline_like(text):
            in_link_block -= 1
            continue
        in_link_block = 0
        if _LINK_HEADER.match(text):
            in_link_block = 6
            continue
        if is_boilerplate(text) or (text in seen and len(text) >= repeat_below):
            continue
        seen.add(text)
        kept.append(text)
    return kept


def is_boilerplate(text: str) -> bool:
    """True when a whitespace-normalised paragraph is page furniture rather than article text."""
    if len(text) <= _SHORT and (
        _AD.match(text)
        or _SOCIAL.match(text)
        or _LINK_PREFIX.match(text)
        or _LINK_HEADER.match(text)
        or _is_timestamp(text)
    ):
        return True
    if len(text) <= _MEDIUM and (_CREDIT.match(text) or _CREDIT_TAIL.search(text)):
        return True
    if len(text) <= _CREDIT_LINE and _COPYRIGHT.match(text):
        return True
    return len(text) <= 2 * _MEDIUM and _is_consent_notice(text)


def _is_consent_notice(text: str) -> bool:
    return bool(_CONSENT_CUE.search(text) and _CONSENT_ACTION.search(text))


def _is_timestamp(text: str) -> bool:
    """An "Updated 14:05" line or a bare date/time: every word is a date or time word."""
    rest = text
    cue = _UPDATED.match(text)
    if cue:
        rest = text[cue.end() :]
    tokens = _TOKEN.findall(rest)
    if not tokens or len(tokens) > 12:
        return False
    words = [t.casefold().rstrip(".") for t in tokens if not t.isdigit()]
    if not all(w in _DATE_WORDS or w in _FILLER_WORDS for w in words):
        return False
    has_digit = len(words) < len(tokens)
    dated = bool(_CLOCK.search(rest)) or any(w in _DATE_WORDS for w in words)
    return dated and (has_digit or bool(cue))


def is_headline_like(text: str) -> bool:
    """A short line that does not end as a sentence does (a headline, a link, a label)."""
    # Headlines may end in "?" or "!", but a full stop or a closing quote marks a real sentence.
    return not text or (len(text) <= 140 and text[-1] not in ".…:;\"”»'’)")
