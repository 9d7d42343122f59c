"""Shingles, novelty, MinHash and LSH bands on news text written for these tests (Feb 2022)."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from newswatch.dedupe import (
    BANDS,
    NUM_PERM,
    STORY_THRESHOLD,
    band_keys,
    estimate_jaccard,
    minhash,
    signature_from_bytes,
    signature_to_bytes,
)
from newswatch.errors import ParseError
from newswatch.novelty import NOVEL_THRESHOLD, new_sentences
from newswatch.shingles import article_shingles, shingles


def novelty(paragraph: str, seen: frozenset[int]) -> float:
    """The share of a paragraph's shingles never seen (0: all seen, 1: all new)."""
    own = shingles(paragraph)
    return len(own - seen) / len(own) if own else 0.0


def is_novel(paragraph: str, seen: frozenset[int]) -> bool:
    """What the pipeline acts on: the paragraph has at least one sentence of new text."""
    return bool(new_sentences(paragraph, seen))


REPO = Path(__file__).resolve().parent.parent

# --- a news day, one story per entry: (headline, paragraphs) --------------------------------

TALKS_BORDER = (
    "Ukraine and Russia hold first talks as fighting rages around Kyiv",
    [
        "Ukrainian and Russian delegations met on Monday on the Belarusian border near the Pripyat "
        "river for their first face-to-face talks since Moscow launched its invasion of Ukraine "
        "four days ago.",
        "The Ukrainian delegation, led by Defence Minister Oleksii Reznikov and presidential "
        "adviser Mykhailo Podolyak, arrived by helicopter, while the Russian team was headed by "
        "Vladimir Medinsky, an aide to President Vladimir Putin.",
        "Kyiv said before the meeting that it would demand an immediate ceasefire and the "
        "withdrawal of Russian troops from all of Ukraine's territory. The Kremlin declined to "
        "set out its own demands in public.",
        "After nearly five hours of talks, both sides said they had identified some priority "
        "topics and would return to their capitals for consultations. Podolyak said a second "
        "round could take place in the coming days on the Polish-Belarusian border.",
        "Medinsky told Russian television that the parties had found points on which common "
        "positions could be foreseen, but gave no details.",
        "As the delegations met, Russian forces pressed on with their assault on Kharkiv, "
        "Ukraine's second-largest city, where local officials reported heavy shelling of "
        "residential districts.",
    ],
)

TALKS_KREMLIN = (
    "Kremlin says delegation waits in Gomel as Zelenskiy rejects Belarus venue",
    [
        "The Kremlin said on Sunday that a Russian delegation had arrived in the Belarusian city "
        "of Gomel and was ready to hold negotiations with Ukrainian officials, as Russian troops "
        "pushed deeper into Ukraine.",
        "Kremlin spokesman Dmitry Peskov said the delegation included military officers and "
        "diplomats and would wait for the Ukrainian side. He accused Kyiv of stalling.",
        "President Volodymyr Zelenskiy said in a video address that Ukraine was willing to talk "
        "but not in Belarus, which had allowed Russian forces to launch part of the invasion from "
        "its territory. He proposed Warsaw, Bratislava, Budapest, Istanbul or Baku instead.",
        "Later on Sunday, Zelenskiy's office said he had agreed after a telephone call with "
        "Belarusian leader Alexander Lukashenko to send a delegation to meet the Russians without "
        "preconditions near the Pripyat river.",
        "Western officials were sceptical that the talks would halt the fighting. A senior "
        "European diplomat said Moscow appeared to be using the offer of negotiations to buy time "
        "while its forces regrouped.",
    ],
)

SANCTIONS_SWIFT = (
    "West to cut some Russian banks from SWIFT and target central bank reserves",
    [
        "The United States, the European Union, Britain and Canada agreed on Saturday to remove "
        "selected Russian banks from the SWIFT international payments system and to impose "
        "restrictions on the Russian central bank, in their toughest response yet to the "
        "invasion of Ukraine.",
        "In a joint statement, the allies said the measures would prevent Russia's central bank "
        "from deploying its international reserves in ways that undermine the impact of "
        "sanctions. Officials estimate that Moscow holds more than 600 billion dollars in "
        "reserves, much of it abroad.",
        "SWIFT, based in Belgium, links more than 11,000 financial institutions in over 200 "
        "countries. Cutting banks off from the network makes it far harder for them to pay for "
        "imports or receive payment for exports.",
        "European Commission President Ursula von der Leyen said the EU would also work to "
        "prevent Russian oligarchs from using their financial assets on European markets.",
        "Germany, which had resisted the move because of its reliance on Russian gas, dropped its "
        "objections earlier in the day. Italy and Hungary also signalled their support.",
        "The banks to be disconnected will be named in the coming days. Officials said some "
        "lenders involved in energy payments could be spared for now.",
    ],
)

SANCTIONS_AIRSPACE = (
    "EU shuts airspace to Russian planes and bans state media outlets",
    [
        "The European Union will close its airspace to all Russian-owned, Russian-registered or "
        "Russian-controlled aircraft, including the private jets of oligarchs, European "
        "Commission President Ursula von der Leyen said on Sunday.",
        "The bloc will also ban the Kremlin-backed broadcaster RT and the news agency Sputnik, "
        "and will for the first time finance the purchase and delivery of weapons to a country "
        "under attack.",
        "Several member states, including Germany, France, Italy and Spain, had already announced "
        "national bans on Russian flights earlier in the day. Russia responded by closing its own "
        "airspace to airlines from a growing list of European countries.",
        "Aviation analysts said the closures would force long detours on flights between Europe "
        "and Asia and cut Aeroflot off from most of its European destinations.",
        "The EU also extended sanctions to Belarus, targeting its exports of mineral fuels, "
        "tobacco, wood, cement, iron and steel, in response to its role in the invasion.",
    ],
)

SANCTIONS_EXPORTS = (
    "Biden announces export controls and sanctions on Russian banks",
    [
        "President Joe Biden announced sweeping sanctions on Russia on Thursday, including export "
        "controls designed to cut the country off from advanced semiconductors and other "
        "technology it needs for its military and aerospace industries.",
        "The measures also target Russia's largest banks, among them VTB, freezing their assets "
        "in the United States and barring them from processing payments in dollars. Biden said "
        "the sanctions would impose a severe cost on the Russian economy, immediately and over "
        "time.",
        "Speaking at the White House, Biden said Putin had chosen a premeditated war and would "
        "bear responsibility for it. He said American forces would not fight in Ukraine but "
        "would be sent to defend NATO allies in Eastern Europe.",
        "The president stopped short of cutting Russia from SWIFT, saying it was not the position "
        "the rest of Europe wished to take at this point. He said the sanctions already announced "
        "exceeded that step in their effect.",
        "The rouble fell to a record low against the dollar and Moscow's stock market lost a "
        "third of its value during the day.",
    ],
)

REFUGEES_POLAND = (
    "Refugees from Ukraine queue for days at Polish border",
    [
        "More than 200,000 people have crossed from Ukraine into Poland since Russia launched its "
        "invasion on Thursday, Polish border guards said on Sunday, with queues of cars "
        "stretching for kilometres on the Ukrainian side of the frontier.",
        "At the Medyka crossing, women and children carrying suitcases and pets walked the last "
        "stretch after abandoning their cars. Men aged 18 to 60 have been barred from leaving "
        "Ukraine under martial law and many said goodbye to their families at the border.",
        "Volunteers handed out soup, blankets and SIM cards in tents set up near the crossing, "
        "while buses waited to take people to reception centres in nearby towns.",
        "Poland, already home to more than a million Ukrainians before the war, has said it will "
        "take in everyone fleeing the fighting. Officials said the country had prepared hospital "
        "beds and accommodation for those without family in Poland.",
        "The United Nations refugee agency said more than 368,000 people had fled Ukraine in "
        "total, to Poland, Hungary, Moldova, Romania and Slovakia.",
    ],
)

REFUGEES_MOLDOVA = (
    "Moldova and Romania take in thousands fleeing war in Ukraine",
    [
        "Thousands of people fleeing Ukraine crossed into Moldova and Romania on Saturday, with "
        "long lines of vehicles forming at the Palanca checkpoint on the road from the Ukrainian "
        "port city of Odesa.",
        "Moldovan President Maia Sandu said her country, one of the poorest in Europe, would keep "
        "its borders open to those escaping the fighting and appealed for international help to "
        "cope with the arrivals.",
        "Moldovan officials said about 16,000 Ukrainians had entered the country since Thursday, "
        "and that many had moved on to Romania or further west. Schools and sports halls have "
        "been turned into temporary shelters.",
        "In Romania, authorities opened transit camps near the Siret border crossing. Residents "
        "of nearby villages brought food, clothes and toys for children, and offered rooms in "
        "their homes.",
        "Aid groups warned that numbers could rise sharply if fighting spreads to southern "
        "Ukraine.",
    ],
)

UN_VETO = (
    "Russia vetoes UN Security Council resolution on Ukraine",
    [
        "Russia on Friday vetoed a draft UN Security Council resolution that would have deplored "
        "its invasion of Ukraine and demanded the immediate withdrawal of its troops, while "
        "China, India and the United Arab Emirates abstained.",
        "Eleven of the council's fifteen members voted in favour of the text, which was drafted "
        "by the United States and Albania. US Ambassador Linda Thomas-Greenfield said Russia "
        "could veto the resolution but could not veto the truth.",
        "Russian Ambassador Vassily Nebenzia said the draft was anti-Russian and accused Western "
        "countries of using Ukraine as a pawn in a geopolitical game.",
        "Western diplomats said they would now take the matter to the 193-member General "
        "Assembly, where no country has a veto and where they expect broad support for a similar "
        "resolution.",
    ],
)

STORIES = {
    "talks-border": TALKS_BORDER,
    "talks-kremlin": TALKS_KREMLIN,
    "sanctions-swift": SANCTIONS_SWIFT,
    "sanctions-airspace": SANCTIONS_AIRSPACE,
    "sanctions-exports": SANCTIONS_EXPORTS,
    "refugees-poland": REFUGEES_POLAND,
    "refugees-moldova": REFUGEES_MOLDOVA,
    "un-veto": UN_VETO,
}

# Another outlet's take on the same wire story, edited by hand: new headline, a word moved,
# a paragraph split, a sentence dropped, a few words changed, two paragraphs swapped.
TALKS_BORDER_REWRITE = (
    "Kyiv and Moscow end first round of talks without a ceasefire deal",
    [
        "Ukrainian and Russian delegations met on the Belarusian border on Monday for their "
        "first face-to-face talks since Moscow launched its invasion of Ukraine four days ago.",
        "The Ukrainian delegation, led by Defence Minister Oleksii Reznikov and presidential "
        "adviser Mykhailo Podolyak, arrived by helicopter.",
        "The Russian team was headed by Vladimir Medinsky, an aide to President Vladimir Putin.",
        "Kyiv said before the meeting that it would demand an immediate ceasefire and the "
        "withdrawal of Russian troops from all of Ukrainian territory.",
        "As the delegations met, Russian forces pressed on with their assault on Kharkiv, "
        "Ukraine's second-largest city, where local officials reported heavy shelling of "
        "residential districts.",
        "After almost five hours of negotiations, both sides said they had identified some "
        "priority topics and would return to their capitals for consultations. Podolyak said a "
        "second round could take place in the coming days on the Polish-Belarusian border.",
        "Medinsky told Russian state television that the parties had found points on which common "
        "positions could be foreseen, but he gave no details.",
    ],
)

REFUGEES_POLAND_REWRITE = (
    "More than 200,000 flee Ukraine for Poland, border guards say",
    [
        "More than 200,000 people have crossed from Ukraine into Poland since Russia launched its "
        "invasion on Thursday, Poland's border guard service said on Sunday, with queues of cars "
        "stretching for kilometres on the Ukrainian side of the border.",
        "Poland, already home to more than a million Ukrainians before the war, has said it will "
        "take in everyone fleeing the fighting.",
        "At the Medyka crossing, women and children carrying suitcases and pets walked the last "
        "stretch after leaving their cars behind. Men aged 18 to 60 have been barred from leaving "
        "Ukraine under martial law and many said goodbye to their families at the border.",
        "Volunteers handed out soup, blankets and SIM cards in tents set up near the crossing, "
        "while buses waited to take people to reception centres in nearby towns.",
        "The UN refugee agency UNHCR said more than 368,000 people had fled Ukraine in total, to "
        "Poland, Hungary, Moldova, Romania and Slovakia.",
    ],
)


def story_shingles(story: tuple[str, list[str]]) -> frozenset[int]:
    title, paragraphs = story
    return article_shingles([title, *paragraphs])


def signature(story: tuple[str, list[str]]) -> np.ndarray:
    return minhash(story_shingles(story))


def wire_edit(story: tuple[str, list[str]]) -> tuple[str, list[str]]:
    """A light edit done mechanically: another headline, the last sentence of the longest
    paragraph dropped, "said" changed twice, the last two paragraphs swapped."""
    title, paragraphs = story
    edited = list(paragraphs)
    longest = max(range(len(edited)), key=lambda i: len(edited[i]))
    edited[longest] = edited[longest].rsplit(". ", 1)[0] + "."
    edited = [p.replace(" said ", " told reporters ", 1) for p in edited[:2]] + edited[2:]
    edited[-2], edited[-1] = edited[-1], edited[-2]
    return "Live updates: " + title.lower(), edited


SAME_STORY = [
    pytest.param(TALKS_BORDER, TALKS_BORDER_REWRITE, id="talks-hand-edited"),
    pytest.param(REFUGEES_POLAND, REFUGEES_POLAND_REWRITE, id="refugees-hand-edited"),
    *(
        pytest.param(story, wire_edit(story), id=f"{name}-wire-edit")
        for name, story in STORIES.items()
    ),
]


# --- story near-duplicates ---------------------------------------------------------------------


@pytest.mark.parametrize(("wire", "copy"), SAME_STORY)
def test_a_lightly_edited_copy_is_the_same_story_and_shares_a_band(wire, copy) -> None:
    a, b = signature(wire), signature(copy)
    assert estimate_jaccard(a, b) >= STORY_THRESHOLD
    assert set(band_keys(a)) & set(band_keys(b))


def test_different_stories_on_the_same_topics_stay_apart() -> None:
    pairs = list(itertools.combinations(STORIES.values(), 2))
    assert len(pairs) >= 10
    sigs = {id(story): signature(story) for story in STORIES.values()}
    colliding = 0
    for a, b in pairs:
        assert estimate_jaccard(sigs[id(a)], sigs[id(b)]) < STORY_THRESHOLD / 2, (a[0], b[0])
        colliding += bool(set(band_keys(sigs[id(a)])) & set(band_keys(sigs[id(b)])))
    assert colliding <= 1


def test_evidence_paragraphs_alone_still_separate_same_from_different() -> None:
    # Detection compares a topic's evidence paragraphs, often only two or three of them.
    lead = TALKS_BORDER[1][:3]
    rewritten = TALKS_BORDER_REWRITE[1][:4]
    other = TALKS_KREMLIN[1][:3]
    same = estimate_jaccard(minhash(article_shingles(lead)), minhash(article_shingles(rewritten)))
    different = estimate_jaccard(minhash(article_shingles(lead)), minhash(article_shingles(other)))
    assert same >= STORY_THRESHOLD > different


@pytest.mark.parametrize("true_jaccard", [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
def test_estimate_jaccard_tracks_the_true_value(true_jaccard: float) -> None:
    # |A| = |B| = 500 sharing m elements have Jaccard m / (1000 - m); solve for m.
    shared = round(1000 * true_jaccard / (1 + true_jaccard))
    pool = [
        int.from_bytes(hashlib.blake2b(str(i).encode(), digest_size=8).digest(), "little")
        for i in range(1000)
    ]
    a = set(pool[:500])
    b = set(pool[500 - shared : 1000 - shared])
    exact = len(a & b) / len(a | b)
    assert abs(estimate_jaccard(minhash(a), minhash(b)) - exact) <= 0.12


def test_signatures_are_prefix_stable_across_lengths() -> None:
    values = story_shingles(UN_VETO)
    assert np.array_equal(minhash(values, 64), minhash(values, NUM_PERM)[:64])
    assert estimate_jaccard(minhash(values, 64), minhash(values, NUM_PERM)) == 1.0


def test_the_empty_set_matches_nothing_not_even_itself() -> None:
    empty = minhash(frozenset())
    assert empty.dtype == np.uint64 and empty.shape == (NUM_PERM,)
    assert band_keys(empty) == []
    assert estimate_jaccard(empty, empty) == 0.0
    assert estimate_jaccard(empty, signature(UN_VETO)) == 0.0
    assert minhash(shingles("Updated 14:05")).tolist() == empty.tolist()


def test_band_keys_are_signed_64_bit_and_mix_in_the_band_number() -> None:
    keys = band_keys(np.full(NUM_PERM, 7, dtype=np.uint64))
    assert len(keys) == BANDS
    assert len(set(keys)) == BANDS  # identical rows in every band, still one key per band
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert len(band_keys(signature(UN_VETO), bands=8)) == 8


@pytest.mark.parametrize("bands", [0, 3, 129])
def test_band_counts_that_do_not_divide_the_signature_are_refused(bands: int) -> None:
    with pytest.raises(ValueError, match="bands"):
        band_keys(signature(UN_VETO), bands=bands)


def test_signed_shingles_from_a_bigint_column_give_the_same_signature() -> None:
    assert np.array_equal(minhash([-1, 5]), minhash([2**64 - 1, 5]))


def test_signature_bytes_round_trip() -> None:
    sig = signature(SANCTIONS_SWIFT)
    data = signature_to_bytes(sig)
    assert len(data) == 8 * NUM_PERM
    assert np.array_equal(signature_from_bytes(data), sig)
    assert signature_to_bytes(minhash(frozenset())) == b"\xff" * 8 * NUM_PERM


@pytest.mark.parametrize("data", [b"", b"\x00" * 7, b"\x00" * 8 * 1025], ids=["empty", "7", "huge"])
def test_bytes_that_are_no_signature_raise_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError, match="signature"):
        signature_from_bytes(data)


def test_shingle_hashes_are_pinned() -> None:
    # Stored hashes outlive the process that made them: the scheme may change only with VERSION.
    # A window hashes to a polynomial over its words' blake2b-64 values.
    def word(w: str) -> int:
        return int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")

    p = 0x9E3779B97F4A7C15
    expected = (word("peace") * p * p + word("talks") * p + word("resumed")) % 2**64
    assert shingles("Peace talks resumed.") == {expected}
    assert shingles("Peace talks") == {word("peace"), word("talks")}


def test_signatures_and_band_keys_are_pinned() -> None:
    # Values recorded when the scheme was fixed: a different machine, numpy version or byte
    # order must reproduce them, or stored signatures and band keys would silently stop matching.
    sig = minhash({1, 2, 3}, 4)
    assert signature_to_bytes(sig).hex() == (
        "a26c511523cb9f6853560b9b7cb14f098657d4550aa84b2be6b082038957bc01"
    )
    assert band_keys(sig, bands=2) == [-6284031287436648249, -8726195962968941538]


def test_the_same_text_gives_the_same_signature_in_another_process() -> None:
    text = " ".join(REFUGEES_POLAND[1])
    here = signature_to_bytes(minhash(shingles(text))).hex(), band_keys(minhash(shingles(text)))
    code = (
        "import sys; from newswatch.dedupe import *; from newswatch.shingles import *;"
        "s = minhash(shingles(sys.stdin.read()));"
        "print(signature_to_bytes(s).hex()); print(band_keys(s))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=text,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=True,
        timeout=120,
    )
    hex_sig, keys = done.stdout.splitlines()
    assert (hex_sig, keys) == (here[0], str(here[1]))


# --- paragraph novelty -------------------------------------------------------------------------

QUEUE = (
    "Polish border guards said on Sunday that the queue at the Medyka crossing stretched for "
    "about fifteen kilometres and that some families had waited overnight."
)
LIVE = (
    "As of 14:05 GMT, Polish border guards had recorded the arrival of more than 200,000 people "
    "from Ukraine since Thursday, most of them women and children."
)
TALKS_P3, TALKS_P4 = TALKS_BORDER[1][2], TALKS_BORDER[1][3]
POLAND_P2 = REFUGEES_POLAND[1][1]

COSMETIC = [
    pytest.param([QUEUE.replace("queue", "queu")], QUEUE, id="typo-fix-in-25-words"),
    pytest.param([TALKS_P3.replace("Kyiv", "Kiev")], TALKS_P3, id="kiev-to-kyiv"),
    pytest.param([LIVE], LIVE.replace("14:05 GMT", "16:40 GMT"), id="time-stamp"),
    pytest.param(
        [LIVE.replace("14:05 GMT", "2:05pm")],
        LIVE.replace("14:05 GMT", "3.15 p.m."),
        id="time-stamp-12h",
    ),
    pytest.param([f"2022-02-27: {QUEUE}"], f"2022-02-28T09:30:00Z: {QUEUE}", id="iso-date"),
    pytest.param([QUEUE], "Updated 27 February 2022, 16:40 GMT", id="updated-line"),
    pytest.param([QUEUE], "Last updated: 16:40", id="updated-line-short"),
    pytest.param([QUEUE], f"Updated 16:40 — {QUEUE}", id="updated-prefix"),
    pytest.param([TALKS_P4], TALKS_P4.split(". ")[0] + ".", id="split-first-half"),
    pytest.param([TALKS_P4], TALKS_P4.split(". ")[1], id="split-second-half"),
    pytest.param([TALKS_P3, TALKS_P4], f"{TALKS_P3} {TALKS_P4}", id="merge"),
    pytest.param(
        [POLAND_P2], " ".join(reversed(POLAND_P2.split(". ", 1))) + ".", id="sentence-moved"
    ),
    pytest.param(
        [TALKS_P3, TALKS_P4], f"{TALKS_P4} {TALKS_P3.split('. ')[1]}", id="sentence-to-next-para"
    ),
    pytest.param(
        [TALKS_P3],
        TALKS_P3.replace("'", "\u2019").replace("Kremlin", "KREMLIN").replace(" ", "\u00a0", 3),
        id="quotes-case-spaces",
    ),
    pytest.param(
        [TALKS_P4],
        TALKS_P4.replace("nearly five hours of talks", "almost five hours of negotiations"),
        id="two-words-reworded",
    ),
]


@pytest.mark.parametrize(("before", "after"), COSMETIC)
def test_cosmetic_edits_are_not_new_text(before: list[str], after: str) -> None:
    seen = article_shingles(before)
    assert novelty(after, seen) < NOVEL_THRESHOLD
    assert new_sentences(after, seen) == []
    assert not is_novel(after, seen)


def test_a_typo_in_a_short_paragraph_is_an_edit_though_half_its_shingles_changed() -> None:
    seen = shingles("Kiev is under curfew.")
    assert novelty("Kyiv is under curfew.", seen) == 0.5
    assert not is_novel("Kyiv is under curfew.", seen)


def test_a_typo_fix_is_well_below_the_threshold() -> None:
    assert len(QUEUE.split()) == 25
    assert novelty(QUEUE, shingles(QUEUE.replace("queue", "queu"))) <= NOVEL_THRESHOLD / 3


@pytest.mark.parametrize(
    "after",
    [
        "Updated 14:05",
        "Updated",
        "On Thursday",
        LIVE.replace("14:05 GMT", "16:40 GMT"),
        "",
        "   \u200b ",
    ],
)
def test_time_stamps_vanish(after: str) -> None:
    assert novelty(after, shingles(LIVE)) == 0.0


NEW_SENTENCE = "The two sides agreed to meet again on Wednesday near the Polish border."
ZELENSKIY = (
    "Zelenskiy said after the talks that Ukraine had not yet received the result it wanted, and "
    "that the delegation would report back before deciding on a second round."
)

GENUINELY_NEW = [
    pytest.param([TALKS_P4], ZELENSKIY, [ZELENSKIY], id="new-paragraph-same-names"),
    pytest.param([TALKS_P3], f"{TALKS_P3} {NEW_SENTENCE}", [NEW_SENTENCE], id="sentence-appended"),
    pytest.param(
        [TALKS_P4],
        TALKS_P4.replace(". ", f". {NEW_SENTENCE} ", 1),
        [NEW_SENTENCE],
        id="sentence-inserted",
    ),
    pytest.param(
        [TALKS_P3],
        f"{TALKS_P3} Talks have collapsed.",
        ["Talks have collapsed."],
        id="short-sentence-appended",
    ),
    pytest.param(
        [QUEUE], "Explosions were heard in Kyiv.", ["Explosions were heard in Kyiv."], id="short"
    ),
    pytest.param(
        [f"{TALKS_P3} Talks ended."],
        f"{TALKS_P3} Talks ended. {NEW_SENTENCE}",
        [NEW_SENTENCE],
        id="old-short-sentence-before-new-one-stays-old",
    ),
    pytest.param(
        [LIVE],
        LIVE.replace("14:05", "18:20").replace("200,000", "280,000") + f" {NEW_SENTENCE}",
        [NEW_SENTENCE],
        id="live-entry-rewritten-with-addition",
    ),
]


@pytest.mark.parametrize(("before", "after", "expected"), GENUINELY_NEW)
def test_genuinely_new_text_is_found(before: list[str], after: str, expected: list[str]) -> None:
    seen = article_shingles(before)
    assert is_novel(after, seen)
    assert new_sentences(after, seen) == expected


def test_a_whole_new_paragraph_is_well_above_the_threshold() -> None:
    seen = article_shingles(TALKS_BORDER[1] + TALKS_KREMLIN[1])
    assert novelty(ZELENSKIY, seen) >= 0.8


def test_an_old_paragraph_with_one_new_sentence_can_score_low_as_a_whole() -> None:
    # Why new_sentences exists: the paragraph's score is diluted by its old text.
    after = f"{TALKS_P4} Both sides will meet again soon."
    seen = shingles(TALKS_P4)
    assert novelty(after, seen) < NOVEL_THRESHOLD
    assert is_novel(after, seen)


def test_a_changed_figure_alone_is_left_to_figures() -> None:
    # One number changed is one word changed: figures.py reports it, novelty does not.
    after = LIVE.replace("200,000", "280,000")
    assert not is_novel(after, shingles(LIVE))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Kyiv's mayor said", "KYIV’S  mayor — said!"),
        ("２００ people fled", "200 people fled"),
        ("Updated 16:40 — Talks resumed in Gomel", "Talks resumed in Gomel"),
        ("Talks resumed in Gomel. Last updated 27 Feb 2022, 09:12 GMT", "Talks resumed in Gomel"),
        ("Talks began at 2:05pm on Monday in Gomel", "Talks began in Gomel"),
        ("Posted 2022-02-27T14:05:00+02:00 by the desk", "by the desk"),
    ],
    ids=[
        "case-punctuation",
        "full-width-digits",
        "updated-prefix",
        "updated-suffix",
        "at-time",
        "iso-run",
    ],
)
def test_normalisation(a: str, b: str) -> None:
    assert shingles(a) == shingles(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("The price was 14.05 euros", "The price was 16.40 euros"),
        ("Talks on Monday in Gomel", "Talks on Tuesday in Gomel"),
        ("Estimated 200 people crossed", "Estimated 300 people crossed"),
    ],
    ids=["dotted-number-is-no-time", "weekday-without-clock-stays", "numbers-stay"],
)
def test_what_normalisation_keeps(a: str, b: str) -> None:
    assert shingles(a) != shingles(b)


def test_short_texts_compare_by_words() -> None:
    assert shingles("Ceasefire talks") == shingles("ceasefire, TALKS!")
    assert novelty("Ceasefire talks", shingles("ceasefire talks")) == 0.0
    assert novelty("Ceasefire talks", frozenset()) == 1.0


def test_shingle_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="shingle size"):
        shingles(QUEUE, k=0)


@pytest.mark.parametrize(
    "text",
    [
        "1:11 " * 50_000,
        "1.1." * 50_000,
        "2" + " " * 200_000 + "pm",
        "Updated " * 50_000,
        "\u0301" * 100_000,
        "word " * 100_000,
        "9" * 200_000,
        "2022-02-24" * 20_000,
    ],
    ids=["clock-soup", "dot-soup", "spaces", "updated-soup", "combining", "long", "digits", "iso"],
)
def test_hostile_text_is_handled(text: str) -> None:
    found = shingles(text)
    assert isinstance(novelty(text, found), float)
    assert minhash(found).shape == (NUM_PERM,)


@pytest.mark.parametrize(
    "jaccard,size_a,size_b,same",
    [
        (0.50, 100, 100, True),  # near-duplicate by Jaccard alone
        (0.30, 40, 100, True),  # a trimmed copy: 40 shingles, all but a few inside the story
        (0.30, 100, 100, False),  # same sizes, little overlap: different stories
        (0.15, 20, 100, False),  # mostly contained, but too little Jaccard to trust the estimate
        (0.30, None, 100, False),  # size unknown (a story stored before sizes were kept)
    ],
)
def test_story_likeness_by_jaccard_or_containment(
    jaccard: float, size_a: int | None, size_b: int | None, same: bool
) -> None:
    from newswatch.dedupe import story_likeness

    n = NUM_PERM
    equal = round(jaccard * n)
    a = np.arange(n, dtype=np.uint64)
    b = a.copy()
    b[equal:] += np.uint64(10_000)  # exactly `equal` slots agree
    assert story_likeness(a, size_a, b, size_b) == (same, equal / n)
