"""IMS QTI 2.1 content package: one assessmentItem per question, an imsmanifest.xml, and for an exam
an assessmentTest that keeps its order. Canvas, Moodle (with its QTI plugin), TAO and Inspera read it.

Single-best-answer questions become a choiceInteraction (one correct choice; each option's
explanation as inline feedback); short-answer questions a textEntryInteraction whose accepted
answers carry their scores as a mapping. medtutor's own metadata (competency, difficulty, tags,
source, licence) travels as LOM keywords in the manifest, so a round trip loses nothing we need.
"""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape, quoteattr

from ..importers.records import ImportBundle, ItemRecord

QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
MD_NS = "http://ltsc.ieee.org/xsd/LOM"
MATCH_CORRECT = "http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct"
MAP_RESPONSE = "http://www.imsglobal.org/question/qti_v2p1/rptemplates/map_response"
KEYWORD_FIELDS = ("competency", "discipline", "objective", "difficulty", "source", "licence")


def choice_id(index: int) -> str:
    return f"choice_{index + 1}"


def item_file(index: int) -> str:
    return f"items/item_{index + 1:05d}.xml"


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(part).replace(chr(10), '<br/>')}</p>" for part in text.split("\n\n") if part.strip())


def _xml_id(external_id: str, index: int) -> str:
    # QTI identifiers are XML NCNames: our ids may not be, so the item's own id travels in its title.
    return f"item_{index + 1:05d}"


def assessment_item(item: ItemRecord, index: int) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n',
           f'<assessmentItem xmlns="{QTI_NS}" identifier="{_xml_id(item.external_id, index)}" '
           f'title={quoteattr(item.external_id)} adaptive="false" timeDependent="false">\n']
    if item.kind == "short":
        out.append('  <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="string">\n'
                   "    <correctResponse>\n")
        best = max(item.answers, key=lambda a: a.score)
        out.append(f"      <value>{escape(best.text)}</value>\n    </correctResponse>\n"
                   '    <mapping defaultValue="0">\n')
        for answer in item.answers:
            out.append(f"      <mapEntry mapKey={quoteattr(answer.text)} mappedValue=\"{answer.score:g}\" "
                       'caseSensitive="false"/>\n')
        out.append("    </mapping>\n  </responseDeclaration>\n")
    else:
        out.append('  <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">\n'
                   f"    <correctResponse><value>{choice_id(item.key or 0)}</value></correctResponse>\n"
                   "  </responseDeclaration>\n")
    out.append('  <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float">\n'
               "    <defaultValue><value>0</value></defaultValue>\n  </outcomeDeclaration>\n"
               "  <itemBody>\n")
    out.append(f'    <div class="stem">{_paragraphs(item.stem)}</div>\n')
    if item.kind == "short":
        prompt = _paragraphs(item.lead_in) if item.lead_in else ""
        out.append(f'    <div class="lead-in">{prompt}<p><textEntryInteraction responseIdentifier="RESPONSE" '
                   'expectedLength="60"/></p></div>\n')
    else:
        out.append('    <choiceInteraction responseIdentifier="RESPONSE" shuffle="true" maxChoices="1">\n')
        if item.lead_in:
            out.append(f"      <prompt>{escape(item.lead_in)}</prompt>\n")
        for i, option in enumerate(item.options):
            feedback = (f'<feedbackInline outcomeIdentifier="FEEDBACK" identifier="{choice_id(i)}" showHide="show">'
                        f"{escape(option.explanation)}</feedbackInline>") if option.explanation else ""
            out.append(f'      <simpleChoice identifier="{choice_id(i)}">{escape(option.text)}{feedback}</simpleChoice>\n')
        out.append("    </choiceInteraction>\n")
    out.append("  </itemBody>\n")
    out.append(f'  <responseProcessing template="{MAP_RESPONSE if item.kind == "short" else MATCH_CORRECT}"/>\n')
    if item.explanation:
        out.append(f'  <modalFeedback outcomeIdentifier="FEEDBACK" identifier="GENERAL" showHide="hide">'
                   f"{_paragraphs(item.explanation)}</modalFeedback>\n")
    out.append("</assessmentItem>\n")
    return "".join(out)


def _keywords(item: ItemRecord) -> list[str]:
    words = [f"{name}:{getattr(item, name)}" for name in KEYWORD_FIELDS if getattr(item, name)]
    return words + [f"tag:{tag}" for tag in item.tags]


def manifest(bundle: ImportBundle, test_title: str | None) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n',
           f'<manifest xmlns="{CP_NS}" xmlns:imsmd="{MD_NS}" identifier="medtutor-export">\n',
           "  <organizations/>\n  <resources>\n"]
    if test_title is not None:
        out.append('    <resource identifier="test" type="imsqti_test_xmlv2p1" href="test.xml">\n'
                   '      <file href="test.xml"/>\n')
        out.extend(f'      <dependency identifierref="{_xml_id(item.external_id, i)}"/>\n'
                   for i, item in enumerate(bundle.items))
        out.append("    </resource>\n")
    for i, item in enumerate(bundle.items):
        out.append(f'    <resource identifier="{_xml_id(item.external_id, i)}" type="imsqti_item_xmlv2p1" '
                   f'href="{item_file(i)}">\n      <metadata><imsmd:lom><imsmd:general>\n')
        out.append(f"        <imsmd:identifier><imsmd:entry>{escape(item.external_id)}</imsmd:entry></imsmd:identifier>\n")
        out.extend(f"        <imsmd:keyword><imsmd:string>{escape(word)}</imsmd:string></imsmd:keyword>\n"
                   for word in _keywords(item))
        out.append(f'      </imsmd:general></imsmd:lom></metadata>\n      <file href="{item_file(i)}"/>\n'
                   "    </resource>\n")
    out.append("  </resources>\n</manifest>\n")
    return "".join(out)


def assessment_test(bundle: ImportBundle, title: str) -> str:
    refs = "".join(f'        <assessmentItemRef identifier="ref_{i + 1}" href="{item_file(i)}"/>\n'
                   for i in range(len(bundle.items)))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<assessmentTest xmlns="{QTI_NS}" identifier="test" title={quoteattr(title)}>\n'
            '  <testPart identifier="part_1" navigationMode="nonlinear" submissionMode="simultaneous">\n'
            '    <assessmentSection identifier="section_1" title="Questions" visible="true">\n'
            f"{refs}    </assessmentSection>\n  </testPart>\n</assessmentTest>\n")


def export_qti(bundle: ImportBundle, *, test_title: str | None = None) -> bytes:
    """A QTI 2.1 zip; with `test_title`, an assessmentTest of the items in their order (an exam)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("imsmanifest.xml", manifest(bundle, test_title))
        if test_title is not None:
            package.writestr("test.xml", assessment_test(bundle, test_title))
        for i, item in enumerate(bundle.items):
            package.writestr(item_file(i), assessment_item(item, i))
    return out.getvalue()
