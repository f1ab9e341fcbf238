"""Exporter tests: fixtures and generated bundles round-trip through every export format (no Django)."""

from __future__ import annotations

import re
import string
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medtutor.content.exporters import EXPORT_FORMATS, ExportError, export
from medtutor.content.importers import (
    CardRecord,
    CompetencyRecord,
    DisciplineRecord,
    ImportBundle,
    ItemRecord,
    ObjectiveRecord,
    OptionRecord,
    ShortAnswerRecord,
    parse,
)
from medtutor.content.importers.validation import text_problem

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def question_text(item: ItemRecord) -> str:
    return f"{item.stem}\n\n{item.lead_in}" if item.lead_in else item.stem


def essentials(bundle: ImportBundle) -> list[tuple[object, ...]]:
    """What Moodle XML and GIFT must preserve: ids, question text, options, key, explanations."""
    return [(i.external_id, i.kind, question_text(i), i.options, i.key, i.answers, i.explanation)
            for i in bundle.items]


def reimport(bundle: ImportBundle, fmt: str) -> ImportBundle:
    return parse(export(bundle, fmt), fmt)


# --- fixtures ------------------------------------------------------------------------------


def test_medtutor_fixture_round_trip_is_lossless() -> None:
    bundle = parse((FIXTURES / "sample.jsonl").read_bytes(), "medtutor")
    again = reimport(bundle, "medtutor")
    assert again == bundle
    assert again.items[0].line == 1 + len(bundle.disciplines) + len(bundle.competencies)  # lines are new


@pytest.mark.parametrize("source", [("sample_moodle.xml", "moodlexml"), ("sample.gift", "gift"),
                                    ("sample.jsonl", "medtutor")])
@pytest.mark.parametrize("fmt", ["moodlexml", "gift"])
def test_fixture_round_trips(source: tuple[str, str], fmt: str) -> None:
    bundle = parse((FIXTURES / source[0]).read_bytes(), source[1])
    assert essentials(reimport(bundle, fmt)) == essentials(bundle)


def test_csv_fixture_round_trip() -> None:
    bundle = parse((FIXTURES / "sample.csv").read_bytes(), "csv")
    assert reimport(bundle, "csv") == bundle


def test_moodle_export_shape() -> None:
    bundle = parse((FIXTURES / "sample.jsonl").read_bytes(), "medtutor")
    xml = export(bundle, "moodlexml").decode()
    root = ET.fromstring(xml)
    single, short = root.findall("question")
    assert (single.get("type"), short.get("type")) == ("multichoice", "shortanswer")
    assert single.findtext("idnumber") == "fx-renal-001" and single.findtext("single") == "true"
    assert [a.get("fraction") for a in single.findall("answer")] == ["100", "0", "0"]
    assert single.find("answer/feedback/text").text.startswith("Low urine sodium")
    assert single.find("generalfeedback/text").text == "Volume depletion reduces renal perfusion."
    assert "<![CDATA[A 72-year-old woman" in xml and "urine sodium is < 20 mmol/L" in xml  # '<' inside CDATA
    assert [a.get("fraction") for a in short.findall("answer")] == ["100", "100", "50"]


def test_moodle_export_splits_cdata_terminator() -> None:
    item = ItemRecord("x", "Odd ]]> text & <b>", "", (OptionRecord("a]]>"), OptionRecord("b")), 0)
    xml = export(ImportBundle(items=(item,)), "moodlexml")
    ET.fromstring(xml)
    assert essentials(parse(xml, "moodlexml")) == essentials(ImportBundle(items=(item,)))


def test_gift_export_escapes_specials() -> None:
    item = ItemRecord("id:1", "Is {x} = 2 ~ #3 \\ ok?", "Choose:", (OptionRecord("=a", "#fb"), OptionRecord("~b")), 1,
                      explanation="####not feedback")
    text = export(ImportBundle(items=(item,)), "gift").decode()
    assert "::id\\:1::[plain]Is \\{x\\} \\= 2 \\~ \\#3 \\\\ ok?\\n\\nChoose\\:{" in text
    assert essentials(parse(text.encode(), "gift")) == essentials(ImportBundle(items=(item,)))


def test_csv_guards_formulas() -> None:
    item = ItemRecord("q", "=HYPERLINK(\"http://x\")", "", (OptionRecord("-5 mmol/L"), OptionRecord("'+7")), 0)
    data = export(ImportBundle(items=(item,)), "csv")
    assert b"'=HYPERLINK" in data and b"'-5 mmol/L" in data and b"''+7" in data
    assert parse(data, "csv").items == (item,)


def test_csv_refuses_short_items() -> None:
    item = ItemRecord("s", "Name it.", "", (), None, kind="short", answers=(ShortAnswerRecord("x", 1.0),))
    with pytest.raises(ExportError, match="s"):
        export(ImportBundle(items=(item,)), "csv")


def test_unknown_export_format() -> None:
    with pytest.raises(ValueError):
        export(ImportBundle(), "docx")


# --- generated bundles ---------------------------------------------------------------------

# Text as people type it: letters, digits, punctuation including every GIFT/CSV/XML special
# character, accents, Greek, some emoji, and newlines.
ALPHABET = string.ascii_letters + string.digits + " .,;:!?'\"()[]{}<>=~#%&\\/*-+@_|$\n\tàéßμ→≥😀\u2029"


def valid(text: str) -> bool:
    return text_problem(text, 20_000) is None


def tidy(text: str) -> bool:
    """What survives the text formats: no surrounding blanks, no CR, no GIFT weight or '->' pitfalls."""
    return (text == text.strip() and "\r" not in text and "->" not in text
            and not re.match(r"%-?\d", text) and valid(text))


texts = st.text(ALPHABET, min_size=1, max_size=40).filter(tidy)
optional_texts = st.one_of(st.just(""), texts)
# The medtutor format keeps text byte for byte, so it gets anything valid.
raw_texts = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30).filter(
    lambda t: t.strip() != "" and valid(t))
codes = st.from_regex(r"[a-z][a-z0-9]{0,6}(\.[a-z0-9]{1,5}){0,2}", fullmatch=True)
tags = st.lists(st.from_regex(r"[a-z0-9][a-z0-9 -]{0,10}[a-z0-9]", fullmatch=True), max_size=3, unique=True)
scores = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9])


@st.composite
def items(draw: st.DrawFn, text: st.SearchStrategy[str] = texts, allow_short: bool = True) -> ItemRecord:
    ident = draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}", fullmatch=True))
    opt = optional_texts if text is texts else st.one_of(st.just(""), text)
    if allow_short and draw(st.booleans()):
        answer_texts = draw(st.lists(text, min_size=1, max_size=4, unique_by=str.strip))
        answers = tuple(ShortAnswerRecord(t, 1.0 if i == 0 else draw(scores), draw(opt))
                        for i, t in enumerate(answer_texts))
        options, key, kind = (), None, "short"
    else:
        option_texts = draw(st.lists(text, min_size=2, max_size=10, unique_by=str.strip))
        options = tuple(OptionRecord(t, draw(opt)) for t in option_texts)
        key, answers, kind = draw(st.integers(0, len(options) - 1)), (), "single"
    return ItemRecord(
        external_id=ident, stem=draw(text), lead_in=draw(opt), options=options, key=key, kind=kind,
        answers=answers, explanation=draw(opt), competency=draw(st.none() | codes),
        discipline=draw(st.none() | codes), objective=draw(st.none() | codes), tags=tuple(draw(tags)),
        difficulty=draw(st.none() | st.sampled_from(["easy", "medium", "hard"])), source=draw(opt),
        licence=draw(opt), image=draw(st.none() | st.sampled_from(["img/ecg.png", "x-ray 1.jpg"])),
    )


def unique_items(strategy: st.SearchStrategy[ItemRecord]) -> st.SearchStrategy[tuple[ItemRecord, ...]]:
    return st.lists(strategy, min_size=1, max_size=4, unique_by=lambda i: i.external_id.strip()).map(tuple)


@st.composite
def full_bundles(draw: st.DrawFn) -> ImportBundle:
    roots = draw(st.lists(st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True), min_size=0, max_size=2, unique=True))
    comps = []
    for n, root in enumerate(roots):
        comps.append(CompetencyRecord(root, draw(raw_texts), None, "system", draw(st.floats(0, 100))))
        comps.append(CompetencyRecord(f"{root}.t", draw(raw_texts), root, "topic", 1.0,
                                      (ObjectiveRecord(f"{root}.t.{n}", draw(raw_texts)),)))
    cards = tuple(
        CardRecord(f"card-{n}", "cloze", "x {{c1::" + draw(raw_texts) + "}}", draw(st.just("") | raw_texts),
                   draw(st.none() | codes), tuple(draw(tags)), draw(st.none() | st.just("q")))
        for n in range(draw(st.integers(0, 2))))
    discs = tuple(DisciplineRecord(c, draw(raw_texts)) for c in draw(st.lists(codes, max_size=2, unique=True)))
    return ImportBundle(discs, tuple(comps), draw(unique_items(items(raw_texts))), cards)


ROUND_TRIP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                                HealthCheck.filter_too_much])


@ROUND_TRIP
@given(bundle=full_bundles())
def test_medtutor_round_trip_is_exact(bundle: ImportBundle) -> None:
    assert reimport(bundle, "medtutor") == bundle


@ROUND_TRIP
@given(bundle_items=unique_items(items()), fmt=st.sampled_from(["moodlexml", "gift"]))
def test_text_format_round_trip(bundle_items: tuple[ItemRecord, ...], fmt: str) -> None:
    bundle = ImportBundle(items=bundle_items)
    assert essentials(reimport(bundle, fmt)) == essentials(bundle)


@ROUND_TRIP
@given(bundle_items=unique_items(items(allow_short=False)))
def test_csv_round_trip_is_exact(bundle_items: tuple[ItemRecord, ...]) -> None:
    bundle = ImportBundle(items=bundle_items)
    assert reimport(bundle, "csv") == bundle


def test_every_export_format_handles_an_empty_item_list() -> None:
    for fmt in EXPORT_FORMATS:
        assert isinstance(export(ImportBundle(), fmt), bytes)


def test_line_is_not_part_of_equality() -> None:
    item = ItemRecord("a", "s", "", (OptionRecord("x"), OptionRecord("y")), 0, line=3)
    assert replace(item, line=9) == item
