"""Table-driven tests for paragraph hygiene: whitespace, boilerplate lines, comparison keys."""

from __future__ import annotations

import pytest

from parsers._common import http_url
from parsers.text import clean_paragraphs, is_boilerplate, normalise_space, paragraph_key

CONSENT_RTE = (
    "We need your consent to load this rte-player contentWe use rte-player to manage extra "
    "content that can set cookies on your device and collect data about your activity. Please "
    "review their details and accept them to load the content.Manage Preferences"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Talks   ended\n\tin Gomel ", "Talks ended in Gomel"),
        ("Kyiv\u00a0and\u202fKharkiv", "Kyiv and Kharkiv"),
        ("zero\u200bwidth\ufeff soft\u00adhyphen", "zerowidth softhyphen"),
        ("Persian\u200cword", "Persian\u200cword"),
        ("Cafe\u0301", "Café"),
        ("\n\n \t", ""),
    ],
)
def test_normalise_space(raw: str, expected: str) -> None:
    assert normalise_space(raw) == expected


BOILERPLATE = [
    CONSENT_RTE,
    "This content is blocked. Accept cookies to view it. Manage your preferences.",
    "Um diesen Inhalt zu sehen, müssen Sie Cookies zulassen (Einwilligung erforderlich).",
    "Read more: EU closes its airspace to Russian aircraft",
    "READ MORE: Sanctions on Russian central bank explained",
    "Related: Refugees queue at the Medyka crossing",
    "Lire aussi : Les pourparlers reprendront à la frontière biélorusse",
    "Читайте также: Переговоры продолжатся в Беларуси",
    "Share this article",
    "Share on Facebook",
    "Follow RTÉ News on Twitter",
    "Follow us on Telegram",
    "Subscribe to our morning newsletter",
    "Sign up for breaking news alerts",
    "Updated at 14:05",
    "Updated / Monday, 28 Feb 2022 14:05",
    "Last updated: 28 February 2022, 14:05 GMT",
    "Aktualisiert am 28.02.2022, 14:05 Uhr",
    "Mis à jour le 28 février 2022 à 14h05",
    "Обновлено 28 февраля 2022",
    "14:05",
    "Mon 28 Feb 2022 14.05 GMT",
    "2 hours ago",
    "28/02/2022",
    "2022年2月28日 14:05",
    "Advertisement",
    "ADVERTISEMENT",
    "Story continues below advertisement",
    "Anzeige",
    "Photo: Reuters",
    "Photograph: Sergei Supinsky/AFP via Getty Images",
    "Image caption, Refugees wait for a train in Przemysl",
    "Children at the border crossing in Medyka. Photo: Reuters",
    "© Getty Images",
]

REAL_SENTENCES = [
    "Updated figures showed 660,000 people had fled Ukraine.",
    "Follow-up talks are expected on the Belarusian border later this week.",
    "Share prices in Moscow fell sharply as the rouble collapsed.",
    "Read the full statement, the ministry said, before judging the offer.",
    "Subscribers to the sanctions list include 80 co-sponsors of the resolution.",
    "The EU said its cookie rules require consent from every user.",
    "More than half a million people have fled to neighbouring countries.",
    "Protests",
    "102",
    "On 28 February 2022 the delegations met near Gomel for five hours.",
    "Mr Podolyak said on Twitter that negotiations were difficult.",
    "Photographers waited at the border for the delegations to arrive.",
    "Переговоры продолжатся в ближайшие дни, заявил Подоляк.",
    "Les délégations sont rentrées dans leurs capitales pour des consultations.",
]


@pytest.mark.parametrize("text", BOILERPLATE)
def test_boilerplate_is_recognised(text: str) -> None:
    assert is_boilerplate(normalise_space(text))
    assert clean_paragraphs(["Talks ended in Gomel.", text]) == ["Talks ended in Gomel."]


@pytest.mark.parametrize("text", REAL_SENTENCES)
def test_real_sentences_are_kept(text: str) -> None:
    assert not is_boilerplate(text)
    assert clean_paragraphs([text]) == [text]


@pytest.mark.parametrize(
    ("paragraphs", "expected"),
    [
        (["", "  ", "A.", "\n"], ["A."]),
        (["A.", "B.", "A.", "  A.  "], ["A.", "B."]),
        (["B.", "A."], ["B.", "A."]),
        (
            [
                "Talks ended.",
                "Read more:",
                "Is this the beginning of the end for Putin?",
                "EU bans Russian state media",
                "The military said Sunday was difficult.",
            ],
            ["Talks ended.", "The military said Sunday was difficult."],
        ),
        # Short repeats are dropped by default ...
        (["Why did you start?", "I love bread.", "Why did you start?", "Soup."], None),
        # The link block ends at the first real sentence; what follows is kept.
        (
            ["Related:", "Sanctions explained", "Kyiv said talks would resume.", "Protests"],
            ["Kyiv said talks would resume.", "Protests"],
        ),
    ],
)
def test_clean_paragraphs(paragraphs: list[str], expected: list[str] | None) -> None:
    if expected is None:
        expected = list(dict.fromkeys(paragraphs))
    assert clean_paragraphs(paragraphs) == expected


def test_short_repeats_may_be_kept() -> None:
    question = "Why did you start cooking?"
    quote = "“We will not give up our land,” the minister said in a video address. " * 3
    paragraphs = [question, "Bread.", quote, question, "Soup.", quote.strip()]
    assert clean_paragraphs(paragraphs, repeat_below=160) == [
        question,
        "Bread.",
        quote.strip(),
        question,
        "Soup.",
    ]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("“Zelenskyy’s offer” — rejected", '"Zelenskyy\'s offer" - rejected'),
        ("Talks  ENDED\nin Gomel.", "talks ended in gomel"),
        ("ＡＢＣ１２", "abc12"),
        ("Straße", "STRASSE"),
    ],
)
def test_paragraph_key_equates_cosmetic_variants(a: str, b: str) -> None:
    assert paragraph_key(a) == paragraph_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("500,000 people have fled", "660,000 people have fled"),
        ("at least 102 civilians", "at least 120 civilians"),
        ("talks ended", "talks resumed"),
    ],
)
def test_paragraph_key_keeps_real_differences(a: str, b: str) -> None:
    assert paragraph_key(a) != paragraph_key(b)


def test_paragraph_key_form() -> None:
    assert paragraph_key("  Half a Million, fled! (UNHCR) ") == "half a million fled unhcr"


# Links as feeds give them: the plain ones are returned as they are, without being taken apart;
# every other one is resolved and checked (expected without and with drop_fragment).
BASE = "https://base.example/d/p"
HTTP_URL_CASES = [
    ("https://e.org/a?b=1&c=2", "https://e.org/a?b=1&c=2", "https://e.org/a?b=1&c=2"),
    ("http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x"),
    ("http://e.org:65535/x", "http://e.org:65535/x", "http://e.org:65535/x"),
    ("http://e.org:65536/x", None, None),  # no such port
    ("http://e.org:99999/x", None, None),
    ("HTTP://e.org/x", "http://e.org/x", "http://e.org/x"),
    ("http://e.org/a b", "http://e.org/a%20b", "http://e.org/a%20b"),
    ("http://e.org/a#frag", "http://e.org/a#frag", "http://e.org/a"),
    ("http://e.org", "http://e.org/", "http://e.org/"),
    ("http://[::1]/x", "http://[::1]/x", "http://[::1]/x"),
    ("http://x_y.org/a", "http://x_y.org/a", "http://x_y.org/a"),
    ("  /rel\n", "https://base.example/rel", "https://base.example/rel"),
    ("ftp://e.org/x", None, None),
    ("http:///x", None, None),
]


@pytest.mark.parametrize(("href", "expected", "without_fragment"), HTTP_URL_CASES)
def test_http_url(href: str, expected: str | None, without_fragment: str | None) -> None:
    assert http_url(href, BASE) == expected
    assert http_url(href, BASE, drop_fragment=True) == without_fragment
