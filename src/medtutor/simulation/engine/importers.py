"""Importers: AgentClinic OSCE JSONL (MedQA and NEJM shapes) and CRAFT-MD vignette CSV -> Case.

Every record either imports or is reported with its reason. Each imported record is built as
a case-file mapping and passed through ``load_case`` so the same validation applies as for
hand-written files. Formats: see shared/data/cases/*/README.md (AgentClinic, Schmidgall et al.
arXiv:2405.07960; CRAFT-MD, Johri et al. Nat Med 2025).

Test costs and turnaround times are medtutor teaching defaults by category (rough orders of
magnitude for a hospital setting), not prices from any source.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .case import (
    MAX_TEXT, Case, CaseValidationError, load_case, load_case_file, slugify,
)
from .lexicon import ros_system, social_topic, statement_topic
from .negation import assess, negated_items
from .textmatch import split_sentences, to_first_person_second

# category -> (cost in "medtutor units", turnaround minutes)
TEST_DEFAULTS: dict[str, tuple[float, int]] = {
    "bedside": (5, 5), "lab": (25, 60), "ecg": (20, 10), "imaging": (150, 90),
    "microbiology": (40, 48 * 60), "pathology": (200, 72 * 60), "procedure": (300, 120),
    "other": (50, 60),
}


@dataclass
class RecordResult:
    index: int                      # 0-based record number in the file (data row / line)
    label: str                      # e.g. "line 3" or "row 17 (case_17)"
    case: Case | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.case is not None


@dataclass
class ImportReport:
    path: str
    kind: str
    results: list[RecordResult] = field(default_factory=list)

    @property
    def cases(self) -> list[Case]:
        return [r.case for r in self.results if r.case is not None]

    @property
    def imported(self) -> int:
        return sum(1 for r in self.results if r.ok)

    @property
    def reported(self) -> int:
        return sum(1 for r in self.results if not r.ok)

    def reasons(self) -> dict[str, int]:
        """Count of failure reasons (first problem of each failed record, generalised)."""
        out: dict[str, int] = {}
        for r in self.results:
            if not r.ok:
                key = re.sub(r"\d+", "N", r.problems[0] if r.problems else "unknown")[:120]
                out[key] = out.get(key, 0) + 1
        return out


# ---------------------------------------------------------------------------------------------
# Helpers


def record_digest(record: Any) -> str:
    canonical = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_AGE_WORDS = {"newborn": 0.0, "neonate": 0.0, "infant": 0.5, "toddler": 2.0}
_NUM_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}


def parse_demographics(text: str) -> tuple[float | None, str]:
    low = (text or "").lower()
    age: float | None = None
    m = re.search(r"(\d+(?:\.\d+)?|[a-z]+)[- ](year|month|week|day)s?[- ]old", low)
    if m:
        raw = m.group(1)
        num = float(raw) if raw[0].isdigit() else _NUM_WORDS.get(raw)
        if num is not None:
            unit = m.group(2)
            age = num if unit == "year" else num / {"month": 12, "week": 52, "day": 365}[unit]
            age = round(age, 2)
    else:
        for word, value in _AGE_WORDS.items():
            if word in low:
                age = value
                break
    if age is not None and age > 125:
        age = None
    sex = "unknown"
    if re.search(r"\b(?:female|woman|girl|lady|mother|she|her|primigravida|gravida)\b", low):
        sex = "female"
    elif re.search(r"\b(?:male|man|boy|gentleman|father|he|his)\b", low):
        sex = "male"
    return age, sex


_PLACEHOLDER = re.compile(
    r"^(?:information )?(?:not (?:provided|specified|mentioned|available|applicable|reported|"
    r"given|documented)|n/?a|none provided|unknown|no (?:additional|other|further) "
    r"(?:symptoms|information|details)(?: (?:provided|reported|mentioned))?|"
    r"not relevant(?: to the case)?)\.?$", re.I)


def _is_placeholder(text: str) -> bool:
    t = text.strip()
    return not t or bool(_PLACEHOLDER.match(t)) or bool(
        re.search(r"\bnot (?:provided|specified|mentioned) in (?:the )?case\b", t, re.I))


def _flatten(value: Any, prefix: str = "") -> list[str]:
    """Nested dict/list of strings -> 'Key: value' lines."""
    out: list[str] = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            label = _label(str(k))
            if isinstance(v, (Mapping, list)):
                inner = _flatten(v)
                if inner:
                    out.append(f"{label}: " + "; ".join(inner))
            elif v is not None and str(v).strip():
                out.append(f"{label}: {str(v).strip()}")
    elif isinstance(value, list):
        for v in value:
            out.extend(_flatten(v) if isinstance(v, (Mapping, list)) else
                       ([str(v).strip()] if v is not None and str(v).strip() else []))
    elif value is not None and str(value).strip():
        out.append(str(value).strip())
    return out


def _label(key: str) -> str:
    return key.replace("_", " ").strip()


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


_EXAM_SYSTEM_MAP = (
    ("vitals", r"vital"), ("cardiovascular", r"cardiopulm|cardiac|cardiovasc|heart"),
    ("respiratory", r"respir|lung|pulmon|chest"), ("abdominal", r"abdom|kidney|rectal|liver"),
    ("neurological", r"neuro|mental|cranial|gait|positional"),
    ("skin", r"skin|dermat|nail|hair"), ("heent", r"ent\b|ear|eye|ophthal|oral|mouth|throat|"
                                                   r"neck|nose|head|thyroid|fundus|ophthalmoscopy"),
    ("musculoskeletal", r"musculo|joint|knee|shoulder|hand|leg|extremit|limb|spine|back|hip"),
    ("genitourinary", r"pelvic|genit|obstet|breast|vagin|testic|scrot|uro|rectovag|penile"),
    ("lymphatic", r"lymph"), ("general", r"general|appearance|growth|anthropometr"),
)


def exam_system(key: str) -> str:
    low = key.lower().replace("_", " ")
    for system, pattern in _EXAM_SYSTEM_MAP:
        if re.search(pattern, low):
            return system
    slug = slugify(re.sub(r"\b(?:examination|exam|findings)\b", "", low)).replace("-", "_")
    return slug[:40] or "other"


def test_category(name: str) -> str:
    low = name.lower().replace("_", " ")
    if re.search(r"\b(?:ecg|ekg|electrocardio)", low):
        return "ecg"
    if re.search(r"x-?ray|radiograph|\bct\b|mri|ultraso|sonograph|imaging|scan|angiogra|"
                 r"echocardio|doppler|mammo|fluoroscop|barium|\bpet\b|venogra|dexa|scintig", low):
        return "imaging"
    if re.search(r"biops|histolog|patholog|cytolog|smear|aspirat|immunofluoresc|flow cytom|"
                 r"immunohisto|frozen section", low):
        return "pathology"
    if re.search(r"cultur|gram stain|pcr|serolog|antigen|microbio|swab|viral|bacterial|"
                 r"koh|scraping|stool ova|sputum", low):
        return "microbiology"
    if re.search(r"endoscop|colonoscop|bronchoscop|cystoscop|anoscop|lumbar puncture|"
                 r"arthrocent|paracent|laparoscop", low):
        return "procedure"
    if re.search(r"dipstick|glucose|bedside|pulse ox|peak flow|urine pregnancy", low):
        return "bedside"
    if re.search(r"electromyo|eeg|electroenceph|spirometr|pulmonary function|audiom|nerve "
                 r"conduction|tilt|stress test|holter|tonometr|slit", low):
        return "other"
    return "lab"


def _test_entry(name: str, result: str, needed: bool = True) -> dict[str, Any]:
    category = test_category(name)
    cost, tat = TEST_DEFAULTS[category]
    return {"name": _clip(name, 300), "category": category, "result": _clip(result),
            "cost": cost, "turnaround_minutes": tat, "needed": needed}


def _fact(text: str, negative: bool | None = None, **extra: Any) -> dict[str, Any]:
    text = _clip(text)
    if negative is None:
        negative = assess(text).negated
    out: dict[str, Any] = {"text": text}
    if negative:
        out["negative"] = True
    out.update(extra)
    return out


def _ros_from_text(text: str, ros: dict[str, dict[str, list[Any]]], history: list[Any],
                   default_topic: str = "associated_symptoms") -> None:
    """Review-of-systems prose -> per-system positives/negatives (negated lists split per item)."""
    for sent in split_sentences(text):
        if _is_placeholder(sent):
            continue
        items = negated_items(sent)
        if items:
            for item in items:
                system = ros_system(item) or "constitutional"
                ros.setdefault(system, {"positives": [], "negatives": []})["negatives"].append(
                    {"text": _clip(f"No {item}.")})
            continue
        system = ros_system(sent)
        neg = assess(sent).negated
        if system:
            bucket = "negatives" if neg else "positives"
            ros.setdefault(system, {"positives": [], "negatives": []})[bucket].append(
                _fact(sent, negative=neg))
        else:
            history.append({"topic": statement_topic(sent, default_topic), **_fact(sent)})


def _social_from_text(text: str, social: dict[str, list[Any]], history: list[Any]) -> None:
    for sent in split_sentences(text):
        if _is_placeholder(sent):
            continue
        clauses = [c.strip() for c in re.split(
            r",\s*(?=[A-Za-z])|;\s*|\s+and\s+(?=(?:also\s+)?(?:drinks|smokes|uses|works|lives|"
            r"denies|reports|has|is|does|occasionally|rarely|exercises|eats|travel)\b)",
            sent) if c.strip()]
        topics = [social_topic(c) for c in clauses]
        # Keep the sentence whole unless its clauses name different social topics.
        if len(clauses) > 1 and len({t for t in topics if t}) > 1 and all(topics):
            pieces = list(zip(clauses, topics))
        else:
            pieces = [(sent, social_topic(sent))]
        for piece, topic in pieces:
            if topic:
                social.setdefault(topic, []).append(_fact(piece))
            else:
                history.append({"topic": "living_situation" if re.search(
                    r"\b(?:lives|married|home)\b", piece, re.I) else "other", **_fact(piece)})


def _finish(data: dict[str, Any], result: RecordResult) -> RecordResult:
    for key in ("history", "past_medical_history", "surgical_history", "medications",
                "family_history", "allergies", "tests", "differential", "teaching_points"):
        if key in data and not data[key]:
            del data[key]
    for key in ("social_history", "review_of_systems", "examination"):
        if key in data and not data[key]:
            del data[key]
    try:
        result.case = load_case(data)
    except CaseValidationError as exc:
        result.problems.extend(str(p) for p in exc.problems)
    return result


# ---------------------------------------------------------------------------------------------
# AgentClinic MedQA (OSCE JSON)


def medqa_record_to_case(record: Any, index: int, source: str) -> RecordResult:
    result = RecordResult(index, f"line {index + 1}")
    if not isinstance(record, Mapping) or not isinstance(record.get("OSCE_Examination"), Mapping):
        result.problems.append("record has no OSCE_Examination object")
        return result
    osce = record["OSCE_Examination"]
    known = {"Objective_for_Doctor", "Patient_Actor", "Physical_Examination_Findings",
             "Test_Results", "Correct_Diagnosis", "Management_and_Follow_Up"}
    for key in osce:
        if key not in known:
            result.warnings.append(f"ignored key OSCE_Examination.{key}")
    actor = osce.get("Patient_Actor")
    diagnosis = osce.get("Correct_Diagnosis")
    if not isinstance(actor, Mapping):
        result.problems.append("OSCE_Examination.Patient_Actor is missing")
    if not isinstance(diagnosis, str) or not diagnosis.strip():
        result.problems.append("OSCE_Examination.Correct_Diagnosis is missing or empty")
    if result.problems:
        return result
    assert isinstance(actor, Mapping) and isinstance(diagnosis, str)

    demo_text = str(actor.get("Demographics") or "")
    age, sex = parse_demographics(demo_text)
    symptoms = actor.get("Symptoms") if isinstance(actor.get("Symptoms"), Mapping) else {}
    primary = str(symptoms.get("Primary_Symptom") or "").strip()
    secondary = [str(s).strip() for s in symptoms.get("Secondary_Symptoms") or []
                 if str(s).strip()] if isinstance(symptoms.get("Secondary_Symptoms"), list) else []
    history_text = actor.get("History")
    history: list[Any] = []
    if primary:
        history.append({"topic": "chief_complaint", "text": _clip(primary), "key": True})
    for sent in split_sentences(" ".join(_flatten(history_text))):
        if not _is_placeholder(sent):
            history.append({"topic": statement_topic(sent), **_fact(sent), "key": True})
    for sym in secondary:
        history.append({"topic": "associated_symptoms", **_fact(sym)})

    pmh: list[Any] = []
    surgical: list[Any] = []
    for line in _flatten(actor.get("Past_Medical_History")):
        for sent in split_sentences(line):
            if _is_placeholder(sent):
                continue
            topic = statement_topic(sent, "past_medical_history")
            (surgical if topic == "surgical_history" else pmh).append(_fact(sent))
    meds = [_fact(m) for key in ("Current_Medications", "Medications", "Drug_History")
            for m in _flatten(actor.get(key)) if not _is_placeholder(m)]
    family = [_fact(f) for f in _flatten(actor.get("Family_History")) if not _is_placeholder(f)]
    allergies = [_fact(a) for a in _flatten(actor.get("Allergies")) if not _is_placeholder(a)]
    social: dict[str, list[Any]] = {}
    _social_from_text(" ".join(_flatten(actor.get("Social_History"))), social, history)
    ros: dict[str, dict[str, list[Any]]] = {}
    _ros_from_text(" ".join(_flatten(actor.get("Review_of_Systems"))), ros, history)
    for key in actor:
        if key not in {"Demographics", "History", "Symptoms", "Past_Medical_History",
                       "Social_History", "Review_of_Systems", "Current_Medications",
                       "Medications", "Drug_History", "Family_History", "Allergies"}:
            result.warnings.append(f"ignored key Patient_Actor.{key}")

    exam: dict[str, list[Any]] = {}
    findings = osce.get("Physical_Examination_Findings")
    if isinstance(findings, Mapping):
        for key, value in findings.items():
            system = exam_system(str(key))
            lines = _flatten(value) if isinstance(value, (Mapping, list)) else _flatten(value)
            for line in lines:
                exam.setdefault(system, []).append({"text": _clip(line), "name": _label(str(key))[:300]})
    tests: list[Any] = []
    seen: set[str] = set()
    results_block = osce.get("Test_Results")
    if isinstance(results_block, Mapping):
        for key, value in results_block.items():
            entries: list[tuple[str, Any]]
            # Groups like Imaging: {Chest_CT: {...}, MRI: {...}} become one test per child.
            if isinstance(value, Mapping) and re.search(r"imaging|radiolog|additional|other",
                                                        str(key), re.I) and all(
                    isinstance(v, Mapping) for v in value.values()):
                entries = [(str(k), v) for k, v in value.items()]
            else:
                entries = [(str(key), value)]
            for name, val in entries:
                text = "; ".join(_flatten(val))
                label = _label(name)
                if not text or label.lower() in seen:
                    continue
                seen.add(label.lower())
                tests.append(_test_entry(label, text))
    teaching = [_clip(t) for t in _flatten(osce.get("Management_and_Follow_Up"))]

    digest = record_digest(record)
    data = {
        "id": f"agentclinic-medqa-{digest[:12]}",
        "title": _clip(f"{primary or 'Presenting problem'} ({demo_text or 'adult'})", 300),
        "setting": "Outpatient clinic (AgentClinic OSCE case)",
        "demographics": {"age": age, "sex": sex},
        "chief_complaint": _clip(primary or str(osce.get("Objective_for_Doctor") or "")
                                 or "unwell", 300),
        "opening_statement": _clip(f"Hello doctor, I've come about {_lower_first(primary)}."
                                   if primary else "Hello doctor, I haven't been feeling well."),
        "history": history, "past_medical_history": pmh, "surgical_history": surgical,
        "medications": meds, "allergies": allergies, "family_history": family,
        "social_history": social, "review_of_systems": ros, "examination": exam,
        "tests": tests, "diagnosis": {"name": _clip(diagnosis.strip(), 300)},
        "teaching_points": teaching,
        "source": f"AgentClinic MedQA ({source}, {result.label}; sha256 {digest[:16]})",
        "tags": ["agentclinic", "medqa"],
    }
    return _finish(data, result)


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


# ---------------------------------------------------------------------------------------------
# AgentClinic NEJM


def nejm_record_to_case(record: Any, index: int, source: str) -> RecordResult:
    result = RecordResult(index, f"line {index + 1}")
    if not isinstance(record, Mapping):
        result.problems.append("record is not a JSON object")
        return result
    for key in ("question", "patient_info", "physical_exams", "answers"):
        if key not in record:
            result.problems.append(f"missing field {key!r}")
    if result.problems:
        return result
    answers = record.get("answers")
    if not isinstance(answers, list) or not all(isinstance(a, Mapping) for a in answers):
        result.problems.append("answers must be a list of {text, correct}")
        return result
    correct = [str(a.get("text", "")).strip() for a in answers if a.get("correct") is True]
    if len(correct) != 1 or not correct[0]:
        result.problems.append(f"expected exactly one correct answer, found {len(correct)}")
        return result
    vignette = str(record.get("question") or "")
    age, sex = parse_demographics(vignette[:200])
    patient = to_first_person_second(str(record.get("patient_info") or ""))
    history: list[Any] = []
    for sent in split_sentences(patient):
        if _is_placeholder(sent) or re.search(r"\b(?:test readings|aware of the|role)\b", sent,
                                              re.I):
            continue
        history.append({"topic": statement_topic(sent), **_fact(sent), "key": True})
    complaint = _complaint_from_vignette(vignette)
    exam, tests = _exam_and_tests(str(record.get("physical_exams") or ""))
    kinds = record.get("type") if isinstance(record.get("type"), list) else []
    digest = record_digest(record)
    data = {
        "id": f"agentclinic-nejm-{digest[:12]}",
        "title": _clip(f"{complaint} (NEJM image challenge)", 300),
        "setting": "Clinic (AgentClinic NEJM case; images are not included)",
        "demographics": {"age": age, "sex": sex},
        "chief_complaint": _clip(complaint, 300),
        "opening_statement": _clip(f"Hello doctor, I've come about {complaint}."),
        "history": history, "examination": exam, "tests": tests,
        "diagnosis": {"name": _clip(correct[0], 300)},
        "differential": [_clip(str(a.get("text")), 300) for a in answers
                         if a.get("correct") is not True and str(a.get("text", "")).strip()],
        "source": f"AgentClinic NEJM ({source}, {result.label}; sha256 {digest[:16]})",
        "tags": ["agentclinic", "nejm"] + [slugify(str(k)) for k in kinds if str(k).strip()],
    }
    if not history:
        result.problems.append("patient_info has no usable statements")
        return result
    return _finish(data, result)


def _complaint_from_vignette(vignette: str) -> str:
    first = split_sentences(vignette)[:2]
    for sent in first:
        m = re.search(r"\b(?:presented|presents|came|comes|was brought|is brought|was referred|"
                      r"was evaluated|was seen)\b[^.]*?\b(?:with|because of|for)\s+(?:a |an )?"
                      r"(?:\d+[- ]\w+[- ]history of |history of )?(.+?)(?:\.|,| that | and |$)", sent)
        if m and len(m.group(1)) > 3:
            return _lower_first(m.group(1).strip())[:200]
    for sent in first:
        m = re.search(r"\bwith (?:a |an )?(?:\d+[- ]\w+[- ]history of |history of )?(.+?)"
                      r"(?:\.|,| that | and (?:was|had)\b|$)", sent)
        if m and len(m.group(1)) > 3:
            return _lower_first(m.group(1).strip())[:200]
    return "a health problem"


def _exam_and_tests(text: str) -> tuple[dict[str, list[Any]], list[Any]]:
    text = re.sub(r"^.*?(?:includes?|are|were):\s*", "", text.strip(), count=1, flags=re.I) \
        if re.match(r"^the information", text.strip(), re.I) else text
    items = [i.strip() for i in re.split(r"(?:^|\s)\d{1,2}\.\s+(?=[A-Z])", text) if i.strip()]
    if len(items) <= 1:
        items = split_sentences(text)
    exam: dict[str, list[Any]] = {}
    tests: list[Any] = []
    seen: set[str] = set()
    for item in items:
        name, _, body = item.partition(":")
        if not body.strip() or len(name) > 80:
            name, body = "", item
        name = name.strip()
        low = (name + " " + body).lower()
        is_test = bool(name) and re.search(
            r"biops|test|level|count|culture|x-?ray|radiograph|\bct\b|mri|ultraso|scan|ecg|"
            r"electrocardio|stain|smear|serolog|pcr|panel|studies|imaging|dermoscop|angiogra|"
            r"echocardio|endoscop|analysis|aspirat|histolog|laborator|blood|urin|fluid|eeg|"
            r"assay|titer|antibod|microscop|colonoscop|gram|tomograph|fundus|funduscop",
            name.lower())
        if is_test:
            label = re.sub(r"\b(?:findings|results?|readings?)\b", "", name, flags=re.I).strip(" -")
            if label and label.lower() not in seen:
                seen.add(label.lower())
                tests.append(_test_entry(label, body.strip()))
                continue
        system = exam_system(name) if name else (
            "skin" if re.search(r"skin|rash|lesion|papul|macul|plaque|patch", low) else "general")
        exam.setdefault(system, []).append({"text": _clip(item)})
    return exam, tests


# ---------------------------------------------------------------------------------------------
# CRAFT-MD vignettes (prose)

_FINAL_QUESTION = re.compile(
    r"(?:^|(?<=[\s.:\"]))((?:Which|What|Of the following|This patient's|The most likely)\b[^?]*\?)"
    r"[\"'\u201d]?\s*$")
_DIAGNOSIS_Q = re.compile(r"likely diagnosis|(?:most likely|the|this patient'?s?|underlying|probable|patient's|"
                          r"correct|her|his|this)\s+(?:underlying\s+)?diagnosis(?: in| of| for|\?|$)|"
                          r"what is the diagnosis|is most likely the diagnosis|"
                          r"what is (?:the )?most likely diagnosis|diagnosis is most likely|"
                          r"most likely (?:cause|condition)", re.I)
_NOT_DIAGNOSIS_Q = re.compile(r"next step|confirm|associated with|mechanism|treatment|"
                              r"management|test|organism|pathogen|finding|complication|risk|"
                              r"prevent|explains? (?:the|this)|cause of (?:the|this)", re.I)

_VITALS = re.compile(r"\b(?:temperature|pulse|blood pressure|respirations|respiratory rate|"
                     r"oxygen saturation|heart rate|bmi|vital signs|mm ?hg|/min\b)", re.I)
_EXAM = re.compile(r"\b(?:examination|exam\b|on auscultation|auscultation|palpation|"
                   r"on inspection|inspection|appears|is alert|in no (?:acute )?distress|"
                   r"there is|there are|are noted|is noted|are seen|is seen|are present|"
                   r"is present|shows? (?:a|an|multiple|several|no)\b|reveals?|tender|"
                   r"identified|observed|on physical|is oriented|murmur|reflexes|"
                   r"the (?:right|left) [a-z ]+ (?:was|is)\b|neurologic|bruit|lesions? (?:are|is))",
                   re.I)
_TESTS = re.compile(r"\b(?:laboratory|lab(?:oratory)? studies|serum|hemoglobin|leukocyte|"
                    r"platelet|x-?ray|radiograph|\bct\b|mri|ultraso|ecg|electrocardiogra|biopsy|"
                    r"smear|culture|urinalysis|analysis|levels?\b|concentration|titer|"
                    r"echocardiogra|scan|imaging|stain|arterial blood gas|test(?:ing)? "
                    r"(?:shows?|is|was|reveals?)|specimen|aspirate|microscopy|mg/dl|g/dl|mm3|"
                    r"meq/l|u/l|mmol/l)", re.I)

def _classify_sentence(sent: str) -> str:
    """history | vitals | exam | tests for one vignette sentence."""
    low = sent.lower()
    if _VITALS.search(sent) and re.search(r"\d", sent) and not re.search(
            r"\b(?:history|reports|complains)\b", low):
        return "vitals"
    if _TESTS.search(sent) and not re.search(r"\b(?:history of|reports|complains|takes|"
                                             r"medications?)\b", low):
        return "tests"
    if _EXAM.search(sent) and not re.search(r"\b(?:reports|complains|has had|began|started|"
                                            r"history of|denies)\b", low):
        return "exam"
    return "history"


_STRONG_EXAM = re.compile(r"\b(?:examination|exam\b|on auscultation|auscultation|physical|"
                          r"on inspection|inspection shows|palpation (?:shows|reveals)|"
                          r"reveals|she appears|he appears|vital signs)", re.I)


def craftmd_row_to_case(row: Mapping[str, Any], index: int, source: str) -> RecordResult:
    case_id = str(row.get("case_id") or "").strip()
    result = RecordResult(index, f"row {index + 2}" + (f" ({case_id})" if case_id else ""))
    vignette = str(row.get("case_vignette") or "").strip()
    answer = str(row.get("answer") or "").strip()
    if not vignette:
        result.problems.append("case_vignette is empty")
    if not answer:
        result.problems.append("answer is empty")
    if result.problems:
        return result
    qm = _FINAL_QUESTION.search(vignette)
    question = qm.group(1).strip() if qm else ""
    sentences = split_sentences(vignette[: qm.start(1)] if qm else vignette)
    if question:
        if not _DIAGNOSIS_Q.search(question) or (
                _NOT_DIAGNOSIS_Q.search(question) and not re.search(
                    r"most likely diagnosis|what is the diagnosis", question, re.I)):
            result.problems.append(
                f"the question asks {question[:100]!r}, not for the diagnosis, so the answer "
                "is not a diagnosis")
            return result
    if not sentences:
        result.problems.append("vignette has no statements besides the question")
        return result
    age, sex = parse_demographics(sentences[0])
    history: list[Any] = []
    pmh: list[Any] = []
    surgical: list[Any] = []
    meds: list[Any] = []
    family: list[Any] = []
    allergies: list[Any] = []
    social: dict[str, list[Any]] = {}
    ros: dict[str, dict[str, list[Any]]] = {}
    exam: dict[str, list[Any]] = {}
    tests: list[Any] = []
    complaint = _craft_complaint(sentences[0])
    in_exam = False
    for i, sent in enumerate(sentences):
        kind = _classify_sentence(sent) if i > 0 else "history"
        if kind == "exam" and not in_exam and not _STRONG_EXAM.search(sent):
            kind = "history"    # before the examination starts, lesion descriptions are history
        if kind in ("vitals", "exam"):
            in_exam = True
        elif kind == "history" and in_exam and not _STRONG_HISTORY.search(sent):
            kind = "exam"       # after the vitals, MedQA vignettes describe the examination
        if kind == "tests" and _craft_test_name(sent, 0).startswith("Investigation"):
            kind = "exam"
        if kind == "vitals":
            exam.setdefault("vitals", []).append({"text": _clip(sent)})
            continue
        if kind == "exam":
            system = exam_system(sent) if re.search(
                r"neuro|abdom|cardiac|heart|lung|chest|skin|rash|lesion|joint|pelvic|eye|"
                r"mental|lymph", sent, re.I) else "general"
            if system not in ("general",) and re.search(r"skin|rash|lesion|papul|macul|plaque",
                                                       sent, re.I):
                system = "skin"
            exam.setdefault(system, []).append({"text": _clip(sent)})
            continue
        if kind == "tests":
            name = _craft_test_name(sent, len(tests))
            same = next((t for t in tests if t["name"] == name), None)
            if same is not None:
                same["result"] = _clip(same["result"] + " " + sent)
            else:
                tests.append(_test_entry(name, sent))
            continue
        if i == 0:
            history.append({"topic": "chief_complaint", **_fact(_patient_opening(sent)),
                            "key": True})
            continue
        items = negated_items(re.sub(r"^(?:she|he|the patient)\s+", "", sent, flags=re.I))
        systems = [ros_system(it) for it in items]
        mapped = [s for s in systems if s]
        if items and len(mapped) * 2 >= len(items):
            usual = max(set(mapped), key=mapped.count)
            for item, system in zip(items, systems):
                system = system or usual
                ros.setdefault(system, {"positives": [], "negatives": []})["negatives"].append(
                    {"text": _clip(f"No {item}.")})
            continue
        topic = statement_topic(sent)
        target = {"past_medical_history": pmh, "surgical_history": surgical,
                  "medications": meds, "family_history": family, "allergies": allergies}
        if topic in target:
            target[topic].append(_fact(sent))
        elif topic in ("smoking", "alcohol", "recreational_drugs", "occupation",
                       "living_situation", "travel", "sexual_history", "diet_exercise"):
            _social_from_text(sent, social, history)
        else:
            history.append({"topic": topic, **_fact(sent), "key": True})
    choices = [str(row.get(f"choice_{k}") or "").strip() for k in range(1, 5)]
    differential = [c for c in choices if c and c.lower() != answer.lower()]
    dataset = str(row.get("dataset") or "").strip()
    category = str(row.get("category") or "").strip()
    ident = slugify(case_id or f"row-{index}", 40)
    data = {
        "id": f"craftmd-{ident}",
        "title": _clip(f"{complaint[:1].upper() + complaint[1:]}" if complaint else "Case", 300),
        "setting": "Clinic (CRAFT-MD vignette)",
        "demographics": {"age": age, "sex": sex},
        "chief_complaint": _clip(complaint or "unwell", 300),
        "opening_statement": _clip(_craft_opening(sentences[0], complaint)),
        "history": history, "past_medical_history": pmh, "surgical_history": surgical,
        "medications": meds, "allergies": allergies, "family_history": family,
        "social_history": social, "review_of_systems": ros, "examination": exam,
        "tests": tests, "diagnosis": {"name": _clip(answer, 300)},
        "differential": differential,
        "source": f"CRAFT-MD ({source}, {result.label}, {dataset})",
        "tags": [t for t in ("craftmd", slugify(dataset, 40) if dataset else "",
                             slugify(category, 40) if category else "") if t],
    }
    return _finish(data, result)


_STRONG_HISTORY = re.compile(r"\b(?:reports?|complains?|has a history|history of|denies|smokes|"
                             r"drinks|takes|medications?|works|lives|mother|father|she says|"
                             r"he says|states)\b", re.I)


_PRESENTS = re.compile(
    r"^an?\s+[\w\s,.-]*?\b(?:comes?|came|presents?|presented|is brought|was brought|"
    r"visits|is seen|is evaluated|is referred|schedules)\b[^.]*?\b(?:because of|with|for|"
    r"complaining of|due to)\s+", re.I)


def _patient_opening(sentence: str) -> str:
    """"A 35-year-old woman comes to the physician because of X" -> "I've come because of X"."""
    m = _PRESENTS.match(sentence)
    if not m:
        return sentence
    rest = re.sub(r"\b(?:her|his)\b", "my", sentence[m.end():])
    lead = m.group(0).rstrip().split()[-1].lower()
    joiner = {"of": "because of", "with": "with", "for": "for", "to": "due to"}.get(lead, "with")
    if lead == "of" and "complaining" in m.group(0).lower():
        joiner = "with"
    return f"I've come {joiner} {rest}"


def _craft_opening(first: str, complaint: str) -> str:
    opening = _patient_opening(first)
    if opening is not first:
        return "Hello doctor. " + opening
    if complaint:
        return f"Hello doctor, I've come about {complaint}."
    return "Hello doctor, I haven't been feeling well."


def _craft_complaint(first: str) -> str:
    for lead in (r"because of|complaining of|complaints of|due to",
                 r"with|for|of"):
        m = re.search(r"\b(?:" + lead + r")\s+(?:an? )?(?:\d+[- ]\w+[- ]history of |history of )?"
                      r"(.+?)(?:\.|,| that | and (?:has|had|was|is)\b|$)", first)
        if m and len(m.group(1)) > 3:
            text = re.sub(r"\b(?:her|his)\b", "my", m.group(1).strip())
            return _lower_first(text)[:200]
    return ""


def _craft_test_name(sent: str, n: int) -> str:
    low = sent.lower()
    for pattern, name in (
        (r"laboratory|lab studies|serum|hemoglobin|leukocyte|platelet", "Laboratory studies"),
        (r"urinalysis|urine", "Urinalysis"), (r"chest x-?ray|chest radiograph", "Chest x-ray"),
        (r"x-?ray|radiograph", "X-ray"), (r"\bct\b", "CT scan"), (r"mri", "MRI"),
        (r"ultraso", "Ultrasound"), (r"ecg|electrocardiogra", "ECG"),
        (r"echocardiogra", "Echocardiogram"), (r"biopsy", "Biopsy"),
        (r"smear", "Blood smear"), (r"culture", "Culture"),
        (r"arterial blood gas", "Arterial blood gas"),
    ):
        if re.search(pattern, low):
            return name
    return f"Investigation {n + 1}"


# ---------------------------------------------------------------------------------------------
# Files


def _jsonl(text: str) -> Iterator[tuple[int, Any, str | None]]:
    for i, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        try:
            yield i, json.loads(line), None
        except json.JSONDecodeError as exc:
            yield i, None, f"invalid JSON: {exc.msg} (column {exc.colno})"


def import_jsonl(text: str, source: str = "input") -> ImportReport:
    report = ImportReport(source, "agentclinic")
    kinds = set()
    for i, record, error in _jsonl(text):
        if error:
            report.results.append(RecordResult(i, f"line {i + 1}", problems=[error]))
            continue
        if isinstance(record, Mapping) and "OSCE_Examination" in record:
            kinds.add("medqa")
            report.results.append(medqa_record_to_case(record, i, source))
        elif isinstance(record, Mapping) and ("patient_info" in record or "answers" in record):
            kinds.add("nejm")
            report.results.append(nejm_record_to_case(record, i, source))
        else:
            report.results.append(RecordResult(
                i, f"line {i + 1}", problems=["unknown record shape (expected AgentClinic "
                                              "MedQA 'OSCE_Examination' or NEJM 'patient_info')"]))
    report.kind = "agentclinic-" + "+".join(sorted(kinds)) if kinds else "jsonl"
    _dedupe(report)
    return report


def import_craftmd_csv(text: str, source: str = "input") -> ImportReport:
    report = ImportReport(source, "craftmd")
    reader = csv.DictReader(io.StringIO(text))
    missing = {"case_vignette", "answer"} - set(reader.fieldnames or [])
    if missing:
        report.results.append(RecordResult(0, "header", problems=[
            f"CSV header lacks column(s) {', '.join(sorted(missing))}"]))
        return report
    for i, row in enumerate(reader):
        report.results.append(craftmd_row_to_case(row, i, source))
    _dedupe(report)
    return report


def _dedupe(report: ImportReport) -> None:
    seen: dict[str, str] = {}
    for r in report.results:
        if r.case is None:
            continue
        if r.case.id in seen:
            r.problems.append(f"duplicate of {seen[r.case.id]} (same record)")
            r.case = None
        else:
            seen[r.case.id] = r.label


def import_path(path: str | Path) -> ImportReport:
    """Import any supported file: .jsonl (AgentClinic), .csv (CRAFT-MD), .yaml/.yml/.json (medtutor)."""
    p = Path(path)
    name = p.name
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        report = ImportReport(str(p), "unreadable")
        report.results.append(RecordResult(0, "file", problems=[f"cannot read: {exc.strerror}"]))
        return report
    suffix = p.suffix.lower()
    if suffix == ".jsonl":
        return import_jsonl(text, name)
    if suffix == ".csv":
        return import_craftmd_csv(text, name)
    if suffix in (".yaml", ".yml", ".json"):
        report = ImportReport(str(p), "medtutor")
        try:
            for i, case in enumerate(load_case_file(p)):
                report.results.append(RecordResult(i, f"case {i + 1}", case=case))
        except CaseValidationError as exc:
            report.results.append(RecordResult(0, "file", problems=[str(x) for x in exc.problems]))
        return report
    report = ImportReport(str(p), "unknown")
    report.results.append(RecordResult(0, "file", problems=[
        f"unsupported file type {suffix or '(none)'}: use .jsonl, .csv, .yaml, .yml or .json"]))
    return report


def load_cases(paths: Iterable[str | Path]) -> list[Case]:
    return [c for p in paths for c in import_path(p).cases]
