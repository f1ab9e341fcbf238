"""IMS QTI 2.1: export and re-import lose nothing; exams export with their order; hostile packages refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from medtutor.content.exporters import export
from medtutor.content.importers import InvalidImportFile, parse, parse_upload
from medtutor.content.importers.records import ImportBundle, ItemRecord, OptionRecord, ShortAnswerRecord

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_bank_round_trips_through_qti():
    _, bundle = parse_upload((ROOT / "demo" / "items.jsonl").read_bytes(), filename="items.jsonl")
    package = export(bundle, "qti")
    again = parse(package, "qti")
    assert again.items == bundle.items and len(again.items) == 73


def test_short_answer_and_awkward_text_round_trip():
    items = (
        ItemRecord("sa-1", stem="Name the drug.\n\nIt reverses <opioids> & is given IV.", lead_in="", options=(),
                   key=None, kind="short", answers=(ShortAnswerRecord("naloxone", 1.0),
                                                    ShortAnswerRecord("narcan", 0.5)),
                   explanation="Competitive μ-antagonist.", tags=("tox",), competency="tox.opioid"),
        ItemRecord("q/1 \"odd\" id", stem="K+ 6.8 mmol/L with peaked T waves.", lead_in="First step?",
                   options=(OptionRecord("IV calcium", "Stabilises the membrane"), OptionRecord("Insulin", ""),
                            OptionRecord("Salbutamol", "Shifts K+ in")), key=0, difficulty="hard"),
    )
    again = parse(export(ImportBundle(items=items), "qti"), "qti")
    assert again.items == items


def test_a_single_assessment_item_file_imports():
    bundle = ImportBundle(items=(ItemRecord("x", stem="Stem", lead_in="Which?", options=(
        OptionRecord("A"), OptionRecord("B")), key=1),))
    with zipfile.ZipFile(io.BytesIO(export(bundle, "qti"))) as package:
        xml = package.read("items/item_00001.xml")
    fmt, parsed = parse_upload(xml, filename="item.xml")
    assert fmt == "qti" and parsed.items[0].key == 1 and parsed.items[0].external_id == "x"


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in members.items():
            package.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("data,message", [
    (_zip({"../evil.xml": b"<x/>"}), "unsafe file name"),
    (_zip({"big.xml": bytes(60 * 1024**2)}), "zip bomb"),
    (_zip({"a.xml": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><assessmentItem>&e;</assessmentItem>'}),
     "refused for security"),
    (_zip({"a.xml": b"<assessmentItem"}), "XML syntax error"),
    (_zip({"imsmanifest.xml": b'<manifest><resources><resource type="imsqti_item_xmlv2p1" href="gone.xml"/>'
                              b"</resources></manifest>"}), "not in the package"),
    (b'<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="a" title="a"><itemBody>'
     b'<choiceInteraction responseIdentifier="R" maxChoices="1"><simpleChoice identifier="c1">A</simpleChoice>'
     b"</choiceInteraction></itemBody></assessmentItem>", "exactly one correct choice"),
])
def test_bad_packages_are_refused_with_the_reason(data, message):
    with pytest.raises(InvalidImportFile, match=message):
        parse(data, "qti")


def test_unsupported_interactions_are_skipped_with_a_note():
    item = (b'<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="h" title="h"><itemBody>'
            b'<hotspotInteraction responseIdentifier="R"/></itemBody></assessmentItem>')
    ok = export(ImportBundle(items=(ItemRecord("k", stem="S", lead_in="", options=(OptionRecord("A"), OptionRecord("B")),
                                                key=0),)), "qti")
    with zipfile.ZipFile(io.BytesIO(ok)) as package:
        members = {name: package.read(name) for name in package.namelist() if name != "imsmanifest.xml"}
    bundle = parse(_zip({**members, "items/hotspot.xml": item}), "qti")
    assert len(bundle.items) == 1 and bundle.skipped == 1 and "hotspotInteraction" in bundle.notes[0]


def test_qti_export_from_the_bank_page(client, faculty, item):
    client.force_login(faculty)
    response = client.get("/items/export/?format=qti")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert parse(response.content, "qti").items[0].external_id == item.external_id
