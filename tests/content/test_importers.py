"""Importer tests: fixtures, the real datasets, every bad-input class, and fuzzing (no Django)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medtutor.content.importers import (
    FORMATS,
    MAX_IMPORT_BYTES,
    ImportIssue,
    InvalidImportFile,
    detect_format,
    parse,
    parse_unguarded,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "questions"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def issues_of(data: bytes | str, fmt: str) -> list[ImportIssue]:
    if isinstance(data, str):
        data = data.encode("utf-8")
    with pytest.raises(InvalidImportFile) as info:
        parse(data, fmt)
    return info.value.issues


def item_line(**fields: object) -> str:
    base: dict[str, object] = {"type": "item", "id": "q-1", "stem": "A 40-year-old man has chest pain.",
                               "lead_in": "Diagnosis?", "options": [{"text": "A"}, {"text": "B"}], "key": 0}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...})


def one_issue(data: str, fmt: str = "medtutor") -> ImportIssue:
    found = issues_of(data, fmt)
    assert len(found) == 1, [str(i) for i in found]
    return found[0]


# --- fixtures ------------------------------------------------------------------------------


def test_medtutor_fixture() -> None:
    bundle = parse(fixture("sample.jsonl"), "medtutor")
    assert bundle.counts() == {"disciplines": 1, "competencies": 2, "objectives": 1, "items": 2, "cards": 2,
                               "skipped": 0}
    single, short = bundle.items
    assert single.key == 0 and single.options[1].explanation.startswith("ATN")
    assert "urine sodium is < 20 mmol/L" in single.stem  # plain '<' is kept verbatim
    assert single.line == 5 and single.difficulty == "easy" and single.tags == ("aki", "fluids")
    assert short.kind == "short" and short.options == () and short.key is None
    assert [(a.text, a.score) for a in short.answers] == [("furosemide", 1.0), ("frusemide", 1.0), ("bumetanide", 0.5)]
    assert bundle.competencies[1].weight == 2.5 and bundle.competencies[1].objectives[0].code == "renal.aki.1"
    assert bundle.cards[1].kind == "cloze"


def test_moodle_fixture() -> None:
    bundle = parse(fixture("sample_moodle.xml"), "moodlexml")
    assert bundle.counts()["items"] == 4 and bundle.skipped == 2
    assert any("description" in n for n in bundle.notes) and any("matching" in n for n in bundle.notes)
    mc, tf, short, mc2 = bundle.items
    assert mc.external_id == "hf-k-001" and mc.line == 7
    assert mc.stem == ("A 70-year-old man is breathless with bibasal crackles.\n\n"
                       "His serum K+ is 3.1 mmol/L & pH < 7.45.\n\nWhich drug most likely caused the low potassium?")
    assert [o.text for o in mc.options] == ["Furosemide", "Spironolactone", "Ramipril"] and mc.key == 0
    assert mc.options[0].explanation == "Right: it blocks NKCC2." and mc.explanation.startswith("Loop diuretics")
    assert mc.tags == ("heart-failure", "electrolytes")
    assert tf.external_id == "Digoxin and potassium" and [o.text for o in tf.options] == ["True", "False"]
    assert tf.key == 0 and tf.options[1].explanation == "It does increase the risk."
    assert short.kind == "short" and short.tags == ("valves",)
    assert [(a.text, a.score, a.feedback) for a in short.answers] == [
        ("aortic stenosis", 1.0, "Correct."), ("AS", 0.5, "Spell it out next time.")]
    # Two questions named "Murmur": ids made unique in file order.
    assert (short.external_id, mc2.external_id) == ("Murmur", "Murmur-2")


def test_gift_fixture() -> None:
    bundle = parse(fixture("sample.gift"), "gift")
    items = {i.external_id: i for i in bundle.items}
    assert len(items) == 6 and bundle.skipped == 1 and "essay" in bundle.notes[0]
    mc = items["thyroid-001"]
    assert mc.line == 6 and mc.key == 0 and mc.tags == ("thyroid",)
    assert [o.text for o in mc.options] == ["TSH receptor antibody", "Anti-thyroid peroxidase antibody",
                                            "Anti-thyroglobulin antibody"]  # ~%50% is not the key
    assert mc.options[1].explanation == "Common, but not specific."
    assert mc.explanation == "Diffuse goitre with a bruit suggests Graves disease."
    tf = items["thyroid-002"]
    assert tf.key == 1 and tf.options[0].explanation.startswith("Wrong") and tf.options[1].explanation.startswith("Right")
    assert items["thyroid-003"].stem == "The normal range of TSH is 0.4-4.0 mU/L {adult} and 1 = 1: true."
    short = items["thyroid-004"]
    assert short.kind == "short" and [(a.text, a.score) for a in short.answers] == [("calcitonin", 1.0), ("thyrocalcitonin", 0.5)]
    assert items["thyroid-005"].stem == "Which is first-line for thyroid storm?"  # [html] converted
    untitled = [i for i in bundle.items if i.external_id.startswith("gift-")]
    assert len(untitled) == 1 and parse(fixture("sample.gift"), "gift").items[-1].external_id == untitled[0].external_id


def test_csv_fixture() -> None:
    first, second = parse(fixture("sample.csv"), "csv").items
    assert first.stem.endswith("ECG: ST elevation in II, III and aVF.") and first.line == 2
    assert first.options[0].explanation == 'Inferior leads, "usually" the RCA.' and first.tags == ("stemi", "ecg")
    assert (first.key, first.difficulty, first.competency) == (0, "medium", "cardio.acs")
    assert second.line == 4 and len(second.options) == 3 and second.key == 0 and second.explanation == ""


# --- real datasets -------------------------------------------------------------------------


def dataset(*parts: str) -> bytes:
    if not DATA.is_dir():
        pytest.skip("shared question datasets are not available")
    return DATA.joinpath(*parts).read_bytes()


def test_medqa_dataset() -> None:
    data = dataset("medqa_usmle", "medqa_usmle_test_dev80.jsonl")
    assert detect_format("medqa_usmle_test_dev80.jsonl", data[:4096]) == "medqa"
    bundle = parse(data, "medqa")
    assert len(bundle.items) == 1027 and not bundle.notes
    assert Counter(i.tags for i in bundle.items) == {("step1",): 558, ("step2-3",): 469}
    assert all(len(i.options) == 4 and i.source == "MedQA-USMLE (Jin et al. 2021)" for i in bundle.items)
    assert bundle.items[0].external_id == "medqa-us-test-0" and bundle.items[0].key == 1


def test_medmcqa_dataset() -> None:
    data = dataset("medmcqa", "medmcqa_dev_dev80.jsonl")
    assert detect_format("medmcqa_dev_dev80.jsonl", data[:4096]) == "medmcqa"
    bundle = parse(data, "medmcqa")
    # 3,371 rows; 18 upstream rows repeat an option text and are skipped with a note.
    assert len(bundle.items) == 3353 and bundle.skipped == 18 and "18" in bundle.notes[0]
    assert bundle.items[0].external_id == "medmcqa-row-0"
    assert bundle.items[2].external_id == "b64a9cd7-d076-4c55-8be1-f9c44fece6cc" and bundle.items[2].key == 2
    assert sum(1 for i in bundle.items if not i.external_id.startswith("medmcqa-row-")) > 2000


def test_pubmedqa_dataset() -> None:
    data = dataset("pubmedqa", "pqal_trainval500.jsonl")
    assert detect_format("pqal_trainval500.jsonl", data[:4096]) == "pubmedqa"
    bundle = parse(data, "pubmedqa")
    assert len(bundle.items) == 500
    assert Counter(i.options[i.key].text for i in bundle.items) == {"Yes": 276, "No": 169, "Maybe": 55}
    first = bundle.items[0]
    assert first.external_id == "pubmedqa-10808977" and first.stem.startswith("Background: Telephone counseling")
    assert first.lead_in.startswith("Can tailored interventions") and first.explanation.startswith("The effects")
    assert "humans" not in first.tags and 0 < len(first.tags) <= 5


# --- detection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "head", "fmt"),
    [
        ("a.jsonl", b'{"type": "item", "id": "x"}\n', "medtutor"),
        ("a.json", b'{"id": "x", "options_5": {}, "meta_info": "step1"}', "medqa"),
        ("a.jsonl", b'{"row": 1, "id": null, "question": "q", "options": {"A": "a"}, "answer_idx": "A"}', "medmcqa"),
        ("a.json", b'[{"pmid": "1", "final_decision": "yes"}]', "pubmedqa"),
        ("ori_pqal.json", b'{"21645374": {"QUESTION": "q", "final_decision": "yes", "LONG_ANS', "pubmedqa"),
        ("quiz.XML", b"<quiz/>", "moodlexml"),
        ("bank.gift", b"::a::b{T}", "gift"),
        ("bank.txt", b"", "gift"),
        ("bank.csv", b"id,stem", "csv"),
        ("", b'\xef\xbb\xbf<?xml version="1.0"?><quiz/>', "moodlexml"),
    ],
)
def test_detect_format(name: str, head: bytes, fmt: str) -> None:
    assert detect_format(name, head) == fmt


@pytest.mark.parametrize(("name", "head"), [("a.json", b'{"foo": 1}'), ("a.jsonl", b'{"type": '), ("a.pdf", b"%PDF")])
def test_detect_format_refuses_unknown(name: str, head: bytes) -> None:
    with pytest.raises(InvalidImportFile, match="cannot tell the format"):
        detect_format(name, head)


# --- bad input, one test per class ---------------------------------------------------------


def test_size_limit() -> None:
    with pytest.raises(InvalidImportFile) as info:
        parse(b" " * (MAX_IMPORT_BYTES + 1), "medtutor")
    assert "file is 25.0 MB; the limit is 25 MB" in str(info.value)


def test_not_utf8_reports_line_and_byte() -> None:
    data = (item_line() + "\n" + item_line(id="q-2") + "\n").encode() + b'{"type": "item", "stem": "caf\xe9"}\n'
    issue = one_issue_bytes(data, "medtutor")
    offset = data.index(b"\xe9")
    assert issue.line == 3 and str(issue) == f"line 3: not valid UTF-8 at line 3 (byte {offset}); save the file as UTF-8"


def one_issue_bytes(data: bytes, fmt: str) -> ImportIssue:
    found = issues_of(data, fmt)
    assert len(found) == 1, [str(i) for i in found]
    return found[0]


def test_utf8_bom_is_accepted() -> None:
    assert parse(b"\xef\xbb\xbf" + item_line().encode(), "medtutor").items[0].external_id == "q-1"


def test_truncated_json_line() -> None:
    issue = one_issue(item_line() + "\n" + item_line(id="q-2")[:40] + "\n")
    assert issue.line == 2 and "invalid JSON" in issue.message


def test_missing_field() -> None:
    issue = one_issue(item_line(stem=...))
    assert (issue.line, issue.record, issue.field) == (1, "item 'q-1'", "stem")
    assert str(issue) == "line 1, item 'q-1', field 'stem': required field is missing"


def test_wrong_type() -> None:
    issue = one_issue(item_line(key="B"))
    assert issue.field == "key" and "whole number" in issue.message and issue.line == 1


@pytest.mark.parametrize("count", [0, 1, 11])
def test_option_count(count: int) -> None:
    issue = one_issue(item_line(options=[{"text": f"o{i}"} for i in range(count)], key=0))
    assert issue.field == "options" and f"an item needs 2 to 10 options, found {count}" in issue.message


def test_key_not_among_options() -> None:
    lines = [item_line(id=f"q-{n}") for n in range(1, 12)] + [
        item_line(id="q-7b", options=[{"text": t} for t in "ABCD"], key=5)]
    issue = one_issue("\n".join(lines))
    assert str(issue).startswith("line 12, item 'q-7b', field 'key': key 5 (option F) is not among the 4 options")


def test_duplicate_option_texts() -> None:
    issue = one_issue(item_line(options=[{"text": "Aspirin"}, {"text": "Aspirin "}]))
    assert issue.field == "options" and "same text" in issue.message


def test_duplicate_ids() -> None:
    issue = one_issue(item_line() + "\n\n" + item_line())
    assert (issue.line, issue.field) == (3, "id") and "first at line 1" in issue.message


def test_unknown_difficulty() -> None:
    issue = one_issue(item_line(difficulty="insane"))
    assert issue.field == "difficulty" and "easy, medium or hard" in issue.message


def test_empty_stem() -> None:
    issue = one_issue(item_line(stem="   "))
    assert (issue.field, issue.message) == ("stem", "must not be empty")


def test_overlong_stem() -> None:
    issue = one_issue(item_line(stem="x" * 20_001))
    assert issue.field == "stem" and "20001 characters; the limit is 20000" in issue.message


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("stem", "Look <script>alert(1)</script>"),
        ("lead_in", "<iframe src=x>"),
        ("explanation", "<OBJECT data=x>"),
        ("stem", "<embed src=x>"),
        ("stem", "<style>body{}</style>"),
        ("explanation", '<a href="javascript:alert(1)">x</a>'),
        ("stem", "<img src=x onerror=alert(1)>"),
    ],
)
def test_dangerous_markup(field: str, text: str) -> None:
    issue = one_issue(item_line(**{field: text}))
    assert issue.field == field and "markup that is not allowed" in issue.message


def test_dangerous_markup_in_option() -> None:
    issue = one_issue(item_line(options=[{"text": "A"}, {"text": "B", "explanation": "<svg onload=x>"}]))
    assert issue.field == "options[1].explanation"


def test_plain_angle_brackets_are_kept() -> None:
    text = "pH < 7.2 and HCO3- > 30; a <b> tag is fine too, as is 'onset = 2 days'"
    assert parse(item_line(stem=text).encode(), "medtutor").items[0].stem == text


def test_control_characters_rejected() -> None:
    issue = one_issue(item_line(stem="nul\u0000byte"))
    assert issue.field == "stem" and "control character" in issue.message


def test_unknown_record_type() -> None:
    issue = one_issue('{"type": "question", "id": "x"}')
    assert issue.field == "type" and "'question'" in issue.message


def test_unknown_field() -> None:
    issue = one_issue(item_line(leadin="typo"))
    assert issue.field == "leadin" and "unknown field" in issue.message


def test_code_syntax() -> None:
    issue = one_issue('{"type": "competency", "code": "Cardio HF", "name": "x", "parent": null, "kind": "system"}')
    assert issue.field == "code" and "lowercase" in issue.message


def test_parent_prefix_rule() -> None:
    issue = one_issue('{"type": "competency", "code": "renal.aki", "name": "AKI", "parent": "cardio", "kind": "topic"}')
    assert (issue.record, issue.field) == ("competency 'renal.aki'", "code") and "cardio." in issue.message


def test_cloze_needs_deletion() -> None:
    issue = one_issue('{"type": "card", "id": "c1", "kind": "cloze", "front": "No deletion here", "back": ""}')
    assert issue.field == "front" and "{{c1::answer}}" in issue.message


def test_short_item_rules() -> None:
    found = issues_of(item_line(kind="short", options=..., key=..., answers=[{"text": "x", "score": 0.5}]), "medtutor")
    assert [i.field for i in found] == ["answers"] and "score 1" in found[0].message


def test_all_issues_are_reported_and_capped() -> None:
    bad = "\n".join(item_line(id=f"q-{n}", stem="") for n in range(300))
    with pytest.raises(InvalidImportFile) as info:
        parse(bad.encode(), "medtutor")
    err = info.value
    assert err.total == 300 and len(err.issues) == 201 and err.issues[-1].message == "...and 100 more problems"
    assert str(err).startswith("300 problems in the import file: line 1, item 'q-0', field 'stem'")


def test_empty_file() -> None:
    assert "no records" in one_issue("\n\n").message


def test_dataset_bad_answer() -> None:
    row = {"row": 5, "id": None, "question": "q?", "options": {"A": "a", "B": "b"}, "answer_idx": "E"}
    issue = one_issue(json.dumps({**row, "row": 4, "answer_idx": "A"}) + "\n" + json.dumps(row), "medmcqa")
    assert (issue.line, issue.field) == (2, "answer_idx") and "'E'" in issue.message


def test_pubmedqa_bad_decision() -> None:
    issue = one_issue(json.dumps({"pmid": "1", "question": "q?", "contexts": ["c"], "final_decision": "perhaps"}),
                      "pubmedqa")
    assert issue.field == "final_decision"


# --- Moodle XML errors ---------------------------------------------------------------------

QUIZ = '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n{}\n</quiz>\n'


def mc_question(answers: str, single: str = "true", text: str = "Stem?") -> str:
    return (f'<question type="multichoice"><name><text>q</text></name>'
            f'<questiontext format="html"><text><![CDATA[{text}]]></text></questiontext>'
            f"<single>{single}</single>{answers}</question>")


def test_moodle_xml_syntax_error_line() -> None:
    issue = one_issue(QUIZ.format("<question type='multichoice'>\n<name><text>x</name>"), "moodlexml")
    assert issue.line == 4 and "XML syntax error" in issue.message


def test_moodle_entity_expansion_refused() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]><quiz>&b;</quiz>'
    assert "security" in one_issue(bomb, "moodlexml").message


def test_moodle_multiple_answers_unsupported() -> None:
    answers = '<answer fraction="50"><text>a</text></answer><answer fraction="50"><text>b</text></answer>'
    issue = one_issue(QUIZ.format(mc_question(answers, single="false")), "moodlexml")
    assert issue.line == 3 and "multiple-answer questions are not supported" in issue.message


def test_moodle_dangerous_html() -> None:
    answers = '<answer fraction="100"><text>a</text></answer><answer fraction="0"><text>b</text></answer>'
    issue = one_issue(QUIZ.format(mc_question(answers, text="<p>x</p><script>steal()</script>")), "moodlexml")
    assert (issue.line, issue.field) == (3, "questiontext") and "markup" in issue.message


def test_moodle_no_correct_answer() -> None:
    answers = '<answer fraction="0"><text>a</text></answer><answer fraction="0"><text>b</text></answer>'
    assert "fraction 100" in one_issue(QUIZ.format(mc_question(answers)), "moodlexml").message


# --- GIFT and CSV errors -------------------------------------------------------------------


def test_gift_unclosed_answers() -> None:
    issue = one_issue("::a::Fine?{=yes ~no}\n\n// note\n::b::Broken? {=yes ~no\n", "gift")
    assert (issue.line, issue.record, issue.field) == (4, "item 'b'", "answers") and "'}'" in issue.message


def test_gift_no_right_answer() -> None:
    issue = one_issue("::a::Which?{~%50%x ~%50%y ~z}", "gift")
    assert issue.line == 1 and "multiple-answer questions are not supported" in issue.message


def test_gift_option_count_uses_shared_rule() -> None:
    issue = one_issue("\n::a::Which?{=only}\n\n::b::Which? {=x ~x}", "gift")
    assert (issue.line, issue.field) == (4, "options") and "same text" in issue.message


CSV_HEAD = "id,stem,lead_in,option_a,option_b,key\n"


def test_csv_unknown_column() -> None:
    issue = one_issue("id,stem,option_a,option_b,key,colour\nq,s,a,b,A\n", "csv")
    assert (issue.line, issue.field) == (1, "colour") and "unknown column" in issue.message


def test_csv_header_required() -> None:
    issue = one_issue("q1,Which?,a,b,A\n", "csv")
    assert issue.line == 1 and "header" in issue.message


def test_csv_bad_key_and_line_numbers() -> None:
    data = CSV_HEAD + 'q1,"two\nlines",l,a,b,A\nq2,s,l,a,b,Z\nq3,s,l,a,b,C\n'
    found = issues_of(data, "csv")
    assert [(i.line, i.record, i.field) for i in found] == [(4, "item 'q2'", "key"), (5, "item 'q3'", "key")]
    assert "key 2 (option C) is not among the 2 options" in found[1].message


def test_csv_semicolon_separated() -> None:
    assert parse(b"id;stem;option_a;option_b;key\nq1;s;a;b;B\n", "csv").items[0].key == 1


# --- fuzzing -------------------------------------------------------------------------------

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(["type", "id", "stem", "lead_in", "options", "key", "kind", "answers", "question",
                               "answer_idx", "row", "pmid", "contexts", "context_labels", "final_decision",
                               "meshes", "meta_info", "code", "parent", "objectives", "front", "opa", "cop"])
json_records = st.dictionaries(field_names, json_values, max_size=8)


def accepts_or_reports(data: bytes, fmt: str) -> None:
    try:
        parse_unguarded(data, fmt)
    except InvalidImportFile as exc:
        assert exc.issues and all(isinstance(i, ImportIssue) for i in exc.issues)
        str(exc)


@FUZZ
@given(data=st.binary(max_size=300), fmt=st.sampled_from(FORMATS))
def test_fuzz_arbitrary_bytes(data: bytes, fmt: str) -> None:
    accepts_or_reports(data, fmt)


@FUZZ
@given(records=st.lists(json_records, max_size=4), fmt=st.sampled_from(["medtutor", "medqa", "medmcqa", "pubmedqa"]))
def test_fuzz_json_records(records: list[dict[str, object]], fmt: str) -> None:
    accepts_or_reports("\n".join(json.dumps(r) for r in records).encode(), fmt)


gift_like = st.text(alphabet="::{}=~#%\\\n TFab1[]html$CATEGORY/->", max_size=80)
xml_like = st.lists(st.sampled_from([
    "<question type='multichoice'>", "<question type='truefalse'>", "<question type='shortanswer'>",
    "<question type='category'>", "</question>", "<answer fraction='100'>", "<answer fraction='x'>", "</answer>",
    "<text>", "</text>", "true", "false", "<questiontext format='html'>", "</questiontext>", "<single>false</single>",
    "<![CDATA[<p>a</p>]]>", "&lt;", "<category>", "</category>", "<feedback>", "</feedback>", "b",
]), max_size=30).map(lambda parts: "<quiz>" + "".join(parts) + "</quiz>")
csv_like = st.text(alphabet='id,stem,option_a,option_b,key\n"AB;\r x', max_size=120)


@FUZZ
@given(text=gift_like)
def test_fuzz_gift_like(text: str) -> None:
    accepts_or_reports(text.encode(), "gift")


@FUZZ
@given(text=xml_like)
def test_fuzz_moodle_like(text: str) -> None:
    accepts_or_reports(text.encode(), "moodlexml")


@FUZZ
@given(text=csv_like)
def test_fuzz_csv_like(text: str) -> None:
    accepts_or_reports(text.encode(), "csv")


def test_parse_guard_turns_bugs_into_invalid_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import medtutor.content.importers as importers

    def boom(text: str) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(importers, "parse_gift", boom)
    with pytest.raises(InvalidImportFile, match="could not be read as gift"):
        parse(b"x", "gift")


def test_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse(b"", "docx")


def test_no_django_imported() -> None:
    # A fresh interpreter: other test modules in this session may have imported Django.
    import subprocess
    import sys

    code = ("import sys, medtutor.content.importers, medtutor.content.exporters; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))")
    src = str(Path(__file__).resolve().parents[2] / "src")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": src, "PATH": ""})
    assert out.stdout.strip() == "[]"
