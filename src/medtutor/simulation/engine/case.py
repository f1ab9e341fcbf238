"""Virtual-patient case model and its YAML/JSON file format (pure, no Django).

A case file is YAML or JSON holding ONE case mapping, a list of case mappings, or
``{"cases": [...]}``. A file imports only if every case in it is valid; otherwise
``load_case_file`` raises :class:`CaseValidationError` listing every problem with its
location (e.g. ``cases[1].history[3].topic``). Unknown keys are errors.

Case mapping (``*`` = required)::

    id*: chest-pain-01              # slug: lowercase letters, digits, - and _
    title*: Crushing chest pain on exertion
    setting*: Emergency department, 02:00
    demographics*: {age: 58, sex: male}     # sex: female | male | other | unknown; age may be null
    chief_complaint*: chest pain
    opening_statement*: "Doctor, I've got this terrible pain in my chest."
    history:                        # history of presenting complaint + anything else the patient says
      - {topic: onset, text: "It started about an hour ago while I was shovelling snow.", key: true}
      - {topic: radiation, text: "It goes down my left arm.", key: true}
      - {topic: ros_constitutional, text: "No fever.", negative: true}   # pertinent negative
    past_medical_history: ["High blood pressure for ten years"]   # items: text or {text, negative, key}
    surgical_history: ["Appendix out at 20"]
    medications: ["Amlodipine 5 mg once a day"]
    allergies: ["Penicillin - rash"]            # "No known drug allergies" with negative: true is fine
    family_history: ["Father died of a heart attack at 60"]
    social_history:                 # keys: smoking alcohol recreational_drugs occupation living_situation
      smoking: "20 cigarettes a day for 30 years"     #       travel sexual_history diet_exercise
      alcohol: {text: "No alcohol", negative: true}   # value: text, {text, negative, key} or a list
    review_of_systems:              # systems: constitutional cardiovascular respiratory gastrointestinal
      respiratory:                  #   genitourinary neurologic musculoskeletal skin psychiatric
        positives: ["A bit short of breath"]
        negatives: ["No cough"]
    ideas_concerns_expectations: ["I'm worried it's my heart, like my dad."]
    obstetric_gynecologic: ["Periods stopped at 51"]
    examination:                    # system slug -> findings (text or {text, name, abnormal, key})
      vitals: ["HR 108, BP 150/90, RR 22, SpO2 96% on air, T 36.8 C"]
      cardiovascular: [{text: "Heart sounds normal, no murmur", abnormal: false}]
    vitals: {heart_rate: 108, systolic_bp: 150, diastolic_bp: 90, respiratory_rate: 22,
             spo2: 96, temperature_c: 36.8, gcs: 15, glucose_mmol_l: 6.1}   # optional numbers
    tests:
      - {name: ECG, category: ecg, result: "ST elevation in II, III, aVF", cost: 20,
         turnaround_minutes: 5, needed: true, synonyms: [electrocardiogram, EKG]}
    diagnosis*: {name: Inferior ST-elevation myocardial infarction, synonyms: [STEMI, inferior MI]}
    differential: [Aortic dissection, Pulmonary embolism]     # text or {name, synonyms}
    critical_actions:
      - {id: ecg-10min, description: "ECG within 10 minutes", deadline_minutes: 10, intervention: ecg}
    teaching_points: ["Door-to-balloon time under 90 minutes"]
    expert_path: ["Focused history", "ECG", "Aspirin 300 mg", "Call cath lab"]
    physiology_scenario: null       # optional scenario name for the physiology engine
    source: "Written for medtutor"  # optional provenance
    tags: [cardiology]

Facts may be written in the first person ("I smoke") or clinical third person
("Smokes 20/day"); the interview engine turns them into first-person answers.
``Case.facts()`` flattens every patient-revealable item into :class:`Fact` objects with
stable ids (``history-0``, ``social-smoking-0``, ``ros-respiratory-neg-0`` ...), each carrying
its intent-taxonomy ``topic`` — the unit the interview engine retrieves and the debrief counts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

# ---------------------------------------------------------------------------------------------
# Vocabulary

INTENT_LABELS: tuple[str, ...] = (
    "chief_complaint", "onset", "duration", "location", "character", "radiation", "severity",
    "timing", "aggravating", "relieving", "associated_symptoms", "prior_episodes",
    "past_medical_history", "surgical_history", "medications", "allergies", "family_history",
    "smoking", "alcohol", "recreational_drugs", "occupation", "living_situation", "travel",
    "sexual_history", "diet_exercise", "obstetric_gynecologic", "ros_constitutional",
    "ros_cardiovascular", "ros_respiratory", "ros_gastrointestinal", "ros_genitourinary",
    "ros_neurologic", "ros_musculoskeletal", "ros_skin", "ros_psychiatric",
    "ideas_concerns_expectations", "greeting", "other",
)
SOCIAL_TOPICS: tuple[str, ...] = (
    "smoking", "alcohol", "recreational_drugs", "occupation", "living_situation", "travel",
    "sexual_history", "diet_exercise",
)
ROS_SYSTEMS: tuple[str, ...] = (
    "constitutional", "cardiovascular", "respiratory", "gastrointestinal", "genitourinary",
    "neurologic", "musculoskeletal", "skin", "psychiatric",
)
# Conventional examination systems; other slugs (e.g. "ophthalmologic") are accepted too.
EXAM_SYSTEMS: tuple[str, ...] = (
    "vitals", "general", "heent", "cardiovascular", "respiratory", "abdominal", "neurological",
    "skin", "musculoskeletal", "genitourinary", "psychiatric", "lymphatic", "other",
)
TEST_CATEGORIES: tuple[str, ...] = (
    "lab", "imaging", "ecg", "microbiology", "pathology", "bedside", "procedure", "other",
)
SEXES: tuple[str, ...] = ("female", "male", "other", "unknown")
VITAL_KEYS: tuple[str, ...] = (
    "heart_rate", "systolic_bp", "diastolic_bp", "respiratory_rate", "spo2", "temperature_c",
    "gcs", "glucose_mmol_l",
)

MAX_TEXT = 4000          # one fact / finding / result
MAX_SHORT = 300          # ids, titles, names
MAX_ITEMS = 400          # entries in any one list
MAX_CASES_PER_FILE = 2000
MAX_FILE_BYTES = 20_000_000

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,119}$")


# ---------------------------------------------------------------------------------------------
# Dataclasses


@dataclass(frozen=True)
class Demographics:
    age_years: float | None
    sex: str = "unknown"

    def describe(self) -> str:
        age = "" if self.age_years is None else f"{_fmt_age(self.age_years)}-year-old "
        noun = {"female": "woman", "male": "man"}.get(self.sex, "patient")
        return f"{age}{noun}"


@dataclass(frozen=True)
class Fact:
    """One thing the patient can tell. ``topic`` is an intent label; ``negative`` = pertinent negative."""

    id: str
    topic: str
    text: str
    negative: bool = False
    key: bool = False
    section: str = "history"


@dataclass(frozen=True)
class RosEntry:
    system: str
    positives: tuple[Fact, ...] = ()
    negatives: tuple[Fact, ...] = ()


@dataclass(frozen=True)
class ExamFinding:
    id: str
    system: str
    text: str
    name: str = ""
    abnormal: bool | None = None
    key: bool = False


@dataclass(frozen=True)
class Vitals:
    heart_rate: float | None = None
    systolic_bp: float | None = None
    diastolic_bp: float | None = None
    respiratory_rate: float | None = None
    spo2: float | None = None
    temperature_c: float | None = None
    gcs: float | None = None
    glucose_mmol_l: float | None = None


@dataclass(frozen=True)
class CaseTest:
    name: str
    category: str
    result: str
    cost: float = 0.0
    turnaround_minutes: int = 0
    needed: bool = False
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiagnosisSpec:
    name: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class CriticalAction:
    id: str
    description: str
    deadline_minutes: int | None = None
    intervention: str | None = None


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    setting: str
    demographics: Demographics
    chief_complaint: str
    opening_statement: str
    diagnosis: DiagnosisSpec
    history: tuple[Fact, ...] = ()
    past_medical_history: tuple[Fact, ...] = ()
    surgical_history: tuple[Fact, ...] = ()
    medications: tuple[Fact, ...] = ()
    allergies: tuple[Fact, ...] = ()
    family_history: tuple[Fact, ...] = ()
    social_history: tuple[Fact, ...] = ()      # each fact's topic is one of SOCIAL_TOPICS
    review_of_systems: tuple[RosEntry, ...] = ()
    ideas_concerns_expectations: tuple[Fact, ...] = ()
    obstetric_gynecologic: tuple[Fact, ...] = ()
    examination: tuple[ExamFinding, ...] = ()
    vitals: Vitals | None = None
    tests: tuple[CaseTest, ...] = ()
    differential: tuple[DiagnosisSpec, ...] = ()
    critical_actions: tuple[CriticalAction, ...] = ()
    teaching_points: tuple[str, ...] = ()
    expert_path: tuple[str, ...] = ()
    physiology_scenario: str | None = None
    source: str = ""
    tags: tuple[str, ...] = ()

    def facts(self) -> tuple[Fact, ...]:
        """Every patient-revealable fact, in a stable order (history first)."""
        out: list[Fact] = list(self.history)
        for group in (self.past_medical_history, self.surgical_history, self.medications,
                      self.allergies, self.family_history, self.social_history):
            out.extend(group)
        for ros in self.review_of_systems:
            out.extend(ros.positives)
            out.extend(ros.negatives)
        out.extend(self.ideas_concerns_expectations)
        out.extend(self.obstetric_gynecologic)
        return tuple(out)

    def key_facts(self) -> tuple[Fact, ...]:
        """Facts a good history elicits: those marked ``key``, else every history (HPI) fact."""
        marked = tuple(f for f in self.facts() if f.key)
        return marked or self.history

    def fact(self, fact_id: str) -> Fact | None:
        return next((f for f in self.facts() if f.id == fact_id), None)

    def exam_systems(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for finding in self.examination:
            seen.setdefault(finding.system, None)
        return tuple(seen)

    def findings(self, system: str) -> tuple[ExamFinding, ...]:
        return tuple(f for f in self.examination if f.system == system)

    def test(self, name: str) -> CaseTest | None:
        wanted = _norm_name(name)
        for test in self.tests:
            if _norm_name(test.name) == wanted or wanted in {_norm_name(s) for s in test.synonyms}:
                return test
        return None


# ---------------------------------------------------------------------------------------------
# Validation


@dataclass(frozen=True)
class Problem:
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class CaseValidationError(ValueError):
    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = list(problems)
        shown = "; ".join(str(p) for p in self.problems[:10])
        more = f" (+{len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__(f"{len(self.problems)} problem(s): {shown}{more}")


_CASE_KEYS = {
    "id", "title", "setting", "demographics", "chief_complaint", "opening_statement", "history",
    "past_medical_history", "surgical_history", "medications", "allergies", "family_history",
    "social_history", "review_of_systems", "ideas_concerns_expectations", "obstetric_gynecologic",
    "examination", "vitals", "tests", "diagnosis", "differential", "critical_actions",
    "teaching_points", "expert_path", "physiology_scenario", "source", "tags",
}
_REQUIRED = ("id", "title", "setting", "demographics", "chief_complaint", "opening_statement",
             "diagnosis")
_LIST_FACT_SECTIONS = {
    # section -> (topic, id prefix)
    "past_medical_history": ("past_medical_history", "pmh"),
    "surgical_history": ("surgical_history", "psh"),
    "medications": ("medications", "med"),
    "allergies": ("allergies", "allergy"),
    "family_history": ("family_history", "fh"),
    "ideas_concerns_expectations": ("ideas_concerns_expectations", "ice"),
    "obstetric_gynecologic": ("obstetric_gynecologic", "obgyn"),
}


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, loc: str, msg: str) -> None:
        self.problems.append(Problem(loc, msg))

    def text(self, value: Any, loc: str, *, limit: int = MAX_TEXT, required: bool = True) -> str:
        if value is None:
            if required:
                self.add(loc, "is required")
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.add(loc, f"must be text, got {type(value).__name__}")
            return ""
        text = str(value).strip()
        if not text:
            if required:
                self.add(loc, "is empty")
            return ""
        if len(text) > limit:
            self.add(loc, f"is too long ({len(text)} characters, limit {limit})")
            return ""
        return text

    def boolean(self, value: Any, loc: str, default: bool = False) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.add(loc, "must be true or false")
            return default
        return value

    def number(self, value: Any, loc: str, *, low: float, high: float) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(loc, "must be a number")
            return None
        if not (low <= float(value) <= high):
            self.add(loc, f"must be between {low:g} and {high:g}")
            return None
        return float(value)

    def mapping(self, value: Any, loc: str, allowed: set[str]) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.add(loc, f"must be a mapping, got {type(value).__name__}")
            return None
        for key in value:
            if not isinstance(key, str) or key not in allowed:
                self.add(f"{loc}.{key}" if loc else str(key),
                         f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return value

    def items(self, value: Any, loc: str) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, (str, Mapping)):
            value = [value]
        if not isinstance(value, list):
            self.add(loc, f"must be a list, got {type(value).__name__}")
            return []
        if len(value) > MAX_ITEMS:
            self.add(loc, f"has {len(value)} entries (limit {MAX_ITEMS})")
            return []
        return value

    def strings(self, value: Any, loc: str, limit: int = MAX_TEXT) -> tuple[str, ...]:
        out = []
        for i, item in enumerate(self.items(value, loc)):
            text = self.text(item, f"{loc}[{i}]", limit=limit)
            if text:
                out.append(text)
        return tuple(out)

    def fact(self, value: Any, loc: str, fact_id: str, topic: str | None, section: str,
             *, negative: bool = False) -> Fact | None:
        allowed = {"text", "negative", "key"} | ({"topic"} if topic is None else set())
        if isinstance(value, Mapping):
            m = self.mapping(value, loc, allowed)
            if m is None:
                return None
            text = self.text(m.get("text"), f"{loc}.text")
            neg = self.boolean(m.get("negative"), f"{loc}.negative", negative)
            key = self.boolean(m.get("key"), f"{loc}.key")
            if topic is None:
                topic = self._topic(m.get("topic"), f"{loc}.topic")
        else:
            text = self.text(value, loc)
            neg, key = negative, False
            if topic is None:
                self.add(loc, "a history fact needs a mapping with 'topic' and 'text'")
                return None
        if not text or not topic:
            return None
        return Fact(id=fact_id, topic=topic, text=text, negative=neg, key=key, section=section)

    def _topic(self, value: Any, loc: str) -> str:
        if value is None:
            self.add(loc, "is required")
            return ""
        if value not in INTENT_LABELS:
            self.add(loc, f"unknown topic {value!r} (use an intent label)")
            return ""
        return str(value)

    def slug(self, value: Any, loc: str) -> str:
        text = self.text(value, loc, limit=MAX_SHORT)
        if text and not _SLUG.match(text):
            self.add(loc, "must be a slug: lowercase letters, digits, '-' or '_' (max 120)")
            return ""
        return text

    def diagnosis(self, value: Any, loc: str) -> DiagnosisSpec | None:
        if isinstance(value, Mapping):
            m = self.mapping(value, loc, {"name", "synonyms"})
            if m is None:
                return None
            name = self.text(m.get("name"), f"{loc}.name", limit=MAX_SHORT)
            syn = self.strings(m.get("synonyms"), f"{loc}.synonyms", limit=MAX_SHORT)
        else:
            name, syn = self.text(value, loc, limit=MAX_SHORT), ()
        return DiagnosisSpec(name, syn) if name else None


def validate_case(data: Any, location: str = "") -> list[Problem]:
    """Every problem in one case mapping (empty list = valid)."""
    _, problems = _build(data, location)
    return problems


def load_case(data: Any) -> Case:
    """Build a :class:`Case` from a mapping or raise :class:`CaseValidationError`."""
    case, problems = _build(data, "")
    if problems or case is None:
        raise CaseValidationError(problems or [Problem("", "invalid case")])
    return case


def _build(data: Any, loc0: str) -> tuple[Case | None, list[Problem]]:
    c = _Checker()

    def at(key: str) -> str:
        return f"{loc0}.{key}" if loc0 else key

    if data is None:
        c.add(loc0 or "case", "is empty")
        return None, c.problems
    if not isinstance(data, Mapping):
        c.add(loc0 or "case", f"must be a mapping, got {type(data).__name__}")
        return None, c.problems
    m = c.mapping(data, loc0, _CASE_KEYS)
    if m is None:
        return None, c.problems
    for key in _REQUIRED:
        if key not in m or m[key] is None or m[key] == "" or m[key] == {}:
            c.add(at(key), "is required")

    case_id = c.slug(m.get("id"), at("id")) if m.get("id") is not None else ""
    title = c.text(m.get("title"), at("title"), limit=MAX_SHORT, required=False)
    setting = c.text(m.get("setting"), at("setting"), limit=MAX_SHORT, required=False)
    complaint = c.text(m.get("chief_complaint"), at("chief_complaint"), limit=MAX_SHORT,
                       required=False)
    opening = c.text(m.get("opening_statement"), at("opening_statement"), required=False)

    demo = Demographics(None, "unknown")
    if m.get("demographics") is not None:
        dm = c.mapping(m["demographics"], at("demographics"), {"age", "sex"})
        if dm is not None:
            age = c.number(dm.get("age"), at("demographics.age"), low=0, high=125)
            sex = dm.get("sex", "unknown")
            if sex not in SEXES:
                c.add(at("demographics.sex"), f"must be one of {', '.join(SEXES)}")
                sex = "unknown"
            demo = Demographics(age, str(sex))

    history = []
    for i, item in enumerate(c.items(m.get("history"), at("history"))):
        f = c.fact(item, f"{at('history')}[{i}]", f"history-{i}", None, "history")
        if f:
            history.append(f)

    lists: dict[str, tuple[Fact, ...]] = {}
    for section, (topic, prefix) in _LIST_FACT_SECTIONS.items():
        got = []
        for i, item in enumerate(c.items(m.get(section), at(section))):
            f = c.fact(item, f"{at(section)}[{i}]", f"{prefix}-{i}", topic, section)
            if f:
                got.append(f)
        lists[section] = tuple(got)

    social: list[Fact] = []
    if m.get("social_history") is not None:
        sm = c.mapping(m["social_history"], at("social_history"), set(SOCIAL_TOPICS))
        for topic in SOCIAL_TOPICS if sm is not None else ():
            if sm.get(topic) is None:
                continue
            loc = f"{at('social_history')}.{topic}"
            for i, item in enumerate(c.items(sm[topic], loc)):
                f = c.fact(item, f"{loc}[{i}]", f"social-{topic}-{i}", topic, "social_history")
                if f:
                    social.append(f)

    ros: list[RosEntry] = []
    if m.get("review_of_systems") is not None:
        rm = c.mapping(m["review_of_systems"], at("review_of_systems"), set(ROS_SYSTEMS))
        for system in ROS_SYSTEMS if rm is not None else ():
            if rm.get(system) is None:
                continue
            loc = f"{at('review_of_systems')}.{system}"
            sysm = c.mapping(rm[system], loc, {"positives", "negatives"})
            if sysm is None:
                continue
            pos, neg = [], []
            for kind, bucket, is_neg in (("positives", pos, False), ("negatives", neg, True)):
                for i, item in enumerate(c.items(sysm.get(kind), f"{loc}.{kind}")):
                    tag = "neg" if is_neg else "pos"
                    f = c.fact(item, f"{loc}.{kind}[{i}]", f"ros-{system}-{tag}-{i}",
                               f"ros_{system}", "review_of_systems", negative=is_neg)
                    if f:
                        bucket.append(f)
            ros.append(RosEntry(system, tuple(pos), tuple(neg)))

    exam: list[ExamFinding] = []
    if m.get("examination") is not None:
        em = m["examination"]
        if not isinstance(em, Mapping):
            c.add(at("examination"), "must be a mapping of system -> findings")
        else:
            for system, findings in em.items():
                loc = f"{at('examination')}.{system}"
                if not isinstance(system, str) or not _SLUG.match(system):
                    c.add(loc, "system must be a slug such as 'cardiovascular'")
                    continue
                for i, item in enumerate(c.items(findings, loc)):
                    iloc = f"{loc}[{i}]"
                    fid = f"exam-{system}-{i}"
                    if isinstance(item, Mapping):
                        fm = c.mapping(item, iloc, {"text", "name", "abnormal", "key"})
                        if fm is None:
                            continue
                        text = c.text(fm.get("text"), f"{iloc}.text")
                        name = c.text(fm.get("name"), f"{iloc}.name", limit=MAX_SHORT,
                                      required=False)
                        abn = fm.get("abnormal")
                        if abn is not None and not isinstance(abn, bool):
                            c.add(f"{iloc}.abnormal", "must be true or false")
                            abn = None
                        key = c.boolean(fm.get("key"), f"{iloc}.key")
                        if text:
                            exam.append(ExamFinding(fid, system, text, name, abn, key))
                    else:
                        text = c.text(item, iloc)
                        if text:
                            exam.append(ExamFinding(fid, system, text))

    vitals = None
    if m.get("vitals") is not None:
        vm = c.mapping(m["vitals"], at("vitals"), set(VITAL_KEYS))
        if vm is not None:
            bounds = {"heart_rate": (0, 300), "systolic_bp": (0, 300), "diastolic_bp": (0, 200),
                      "respiratory_rate": (0, 80), "spo2": (0, 100), "temperature_c": (25, 45),
                      "gcs": (3, 15), "glucose_mmol_l": (0, 100)}
            vitals = Vitals(**{k: c.number(vm.get(k), f"{at('vitals')}.{k}", low=lo, high=hi)
                               for k, (lo, hi) in bounds.items()})

    tests: list[CaseTest] = []
    seen_tests: set[str] = set()
    for i, item in enumerate(c.items(m.get("tests"), at("tests"))):
        loc = f"{at('tests')}[{i}]"
        tm = c.mapping(item, loc, {"name", "category", "result", "cost", "turnaround_minutes",
                                   "needed", "synonyms"})
        if tm is None:
            continue
        name = c.text(tm.get("name"), f"{loc}.name", limit=MAX_SHORT)
        category = tm.get("category", "other")
        if category not in TEST_CATEGORIES:
            c.add(f"{loc}.category", f"must be one of {', '.join(TEST_CATEGORIES)}")
        result = c.text(tm.get("result"), f"{loc}.result")
        cost = c.number(tm.get("cost", 0), f"{loc}.cost", low=0, high=1_000_000)
        tat = c.number(tm.get("turnaround_minutes", 0), f"{loc}.turnaround_minutes",
                       low=0, high=60 * 24 * 60)
        needed = c.boolean(tm.get("needed"), f"{loc}.needed")
        syn = c.strings(tm.get("synonyms"), f"{loc}.synonyms", limit=MAX_SHORT)
        if name and _norm_name(name) in seen_tests:
            c.add(f"{loc}.name", f"duplicate test name {name!r}")
        if name and result and category in TEST_CATEGORIES:
            seen_tests.add(_norm_name(name))
            tests.append(CaseTest(name, str(category), result, cost or 0.0, int(tat or 0),
                                  needed, syn))

    diagnosis = c.diagnosis(m["diagnosis"], at("diagnosis")) if m.get("diagnosis") else None
    differential = []
    for i, item in enumerate(c.items(m.get("differential"), at("differential"))):
        d = c.diagnosis(item, f"{at('differential')}[{i}]")
        if d:
            differential.append(d)

    actions: list[CriticalAction] = []
    seen_actions: set[str] = set()
    for i, item in enumerate(c.items(m.get("critical_actions"), at("critical_actions"))):
        loc = f"{at('critical_actions')}[{i}]"
        am = c.mapping(item, loc, {"id", "description", "deadline_minutes", "intervention"})
        if am is None:
            continue
        aid = c.slug(am.get("id"), f"{loc}.id")
        desc = c.text(am.get("description"), f"{loc}.description", limit=MAX_SHORT * 2)
        deadline = c.number(am.get("deadline_minutes"), f"{loc}.deadline_minutes",
                            low=0, high=60 * 24 * 30)
        interv = c.text(am.get("intervention"), f"{loc}.intervention", limit=MAX_SHORT,
                        required=False) or None
        if aid in seen_actions:
            c.add(f"{loc}.id", f"duplicate critical action id {aid!r}")
        if aid and desc:
            seen_actions.add(aid)
            actions.append(CriticalAction(aid, desc, None if deadline is None else int(deadline),
                                          interv))

    teaching = c.strings(m.get("teaching_points"), at("teaching_points"))
    expert = c.strings(m.get("expert_path"), at("expert_path"))
    scenario = None
    if m.get("physiology_scenario") is not None:
        scenario = c.slug(m.get("physiology_scenario"), at("physiology_scenario")) or None
    source = c.text(m.get("source"), at("source"), limit=MAX_TEXT, required=False)
    tags = c.strings(m.get("tags"), at("tags"), limit=MAX_SHORT)

    if c.problems or diagnosis is None:
        return None, c.problems
    case = Case(
        id=case_id, title=title, setting=setting, demographics=demo, chief_complaint=complaint,
        opening_statement=opening, diagnosis=diagnosis, history=tuple(history),
        past_medical_history=lists["past_medical_history"],
        surgical_history=lists["surgical_history"], medications=lists["medications"],
        allergies=lists["allergies"], family_history=lists["family_history"],
        social_history=tuple(social), review_of_systems=tuple(ros),
        ideas_concerns_expectations=lists["ideas_concerns_expectations"],
        obstetric_gynecologic=lists["obstetric_gynecologic"], examination=tuple(exam),
        vitals=vitals, tests=tuple(tests), differential=tuple(differential),
        critical_actions=tuple(actions), teaching_points=teaching, expert_path=expert,
        physiology_scenario=scenario, source=source, tags=tags,
    )
    return case, []


# ---------------------------------------------------------------------------------------------
# Serialisation


def _fact_out(f: Fact) -> Any:
    out: dict[str, Any] = {"text": f.text}
    if f.negative:
        out["negative"] = True
    if f.key:
        out["key"] = True
    return out


def _diag_out(d: DiagnosisSpec) -> dict[str, Any]:
    return {"name": d.name, "synonyms": list(d.synonyms)} if d.synonyms else {"name": d.name}


def case_to_dict(case: Case) -> dict[str, Any]:
    """Plain dict in the file format; ``load_case(case_to_dict(c)) == c``."""
    out: dict[str, Any] = {
        "id": case.id, "title": case.title, "setting": case.setting,
        "demographics": {"age": case.demographics.age_years, "sex": case.demographics.sex},
        "chief_complaint": case.chief_complaint, "opening_statement": case.opening_statement,
        "history": [{"topic": f.topic, **_fact_out(f)} for f in case.history],
    }
    for section in _LIST_FACT_SECTIONS:
        facts = getattr(case, section)
        if facts:
            out[section] = [_fact_out(f) for f in facts]
    if case.social_history:
        social: dict[str, list[Any]] = {}
        for f in case.social_history:
            social.setdefault(f.topic, []).append(_fact_out(f))
        out["social_history"] = social
    if case.review_of_systems:
        out["review_of_systems"] = {
            r.system: {"positives": [_fact_out(f) for f in r.positives],
                       "negatives": [_fact_out(f) for f in r.negatives]}
            for r in case.review_of_systems}
    if case.examination:
        exam: dict[str, list[Any]] = {}
        for e in case.examination:
            item: dict[str, Any] = {"text": e.text}
            if e.name:
                item["name"] = e.name
            if e.abnormal is not None:
                item["abnormal"] = e.abnormal
            if e.key:
                item["key"] = True
            exam.setdefault(e.system, []).append(item)
        out["examination"] = exam
    if case.vitals is not None:
        out["vitals"] = {k: getattr(case.vitals, k) for k in VITAL_KEYS
                         if getattr(case.vitals, k) is not None}
    if case.tests:
        out["tests"] = [{"name": t.name, "category": t.category, "result": t.result,
                         "cost": t.cost, "turnaround_minutes": t.turnaround_minutes,
                         "needed": t.needed, "synonyms": list(t.synonyms)} for t in case.tests]
    out["diagnosis"] = _diag_out(case.diagnosis)
    if case.differential:
        out["differential"] = [_diag_out(d) for d in case.differential]
    if case.critical_actions:
        out["critical_actions"] = [
            {"id": a.id, "description": a.description, "deadline_minutes": a.deadline_minutes,
             "intervention": a.intervention} for a in case.critical_actions]
    for key in ("teaching_points", "expert_path", "tags"):
        if getattr(case, key):
            out[key] = list(getattr(case, key))
    if case.physiology_scenario:
        out["physiology_scenario"] = case.physiology_scenario
    if case.source:
        out["source"] = case.source
    return out


# ---------------------------------------------------------------------------------------------
# Files


def parse_case_text(text: str, *, fmt: str | None = None) -> Any:
    """YAML or JSON text -> Python data; raises CaseValidationError on a syntax error."""
    if fmt == "json" or (fmt is None and text.lstrip()[:1] in "[{" and _looks_json(text)):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CaseValidationError([Problem(f"line {exc.lineno}", f"invalid JSON: {exc.msg}")])
    import yaml  # lazily: only file loading needs it

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        problem = getattr(exc, "problem", None) or str(exc)
        raise CaseValidationError([Problem(where, f"invalid YAML: {problem}")])


def _looks_json(text: str) -> bool:
    try:
        json.loads(text)
        return True
    except ValueError:
        return False


def case_list(data: Any) -> tuple[list[Any], str]:
    """Normalise file data to (case mappings, location prefix)."""
    if isinstance(data, Mapping) and set(data) == {"cases"}:
        return (data["cases"] if isinstance(data["cases"], list) else [data["cases"]]), "cases"
    if isinstance(data, list):
        return data, "cases"
    return [data], ""


def validate_case_data(data: Any) -> tuple[list[Case], list[Problem]]:
    """Validate file data holding one case or many; returns (cases, problems)."""
    if data is None:
        return [], [Problem("file", "is empty")]
    items, prefix = case_list(data)
    problems: list[Problem] = []
    cases: list[Case] = []
    if not items:
        return [], [Problem(prefix or "file", "contains no cases")]
    if len(items) > MAX_CASES_PER_FILE:
        return [], [Problem(prefix, f"has {len(items)} cases (limit {MAX_CASES_PER_FILE})")]
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        loc = f"{prefix}[{i}]" if prefix else ""
        case, found = _build(item, loc)
        problems.extend(found)
        if case is not None:
            if case.id in seen:
                problems.append(Problem(f"{loc}.id" if loc else "id",
                                        f"duplicate case id {case.id!r} (also case {seen[case.id]})"))
            seen[case.id] = i
            cases.append(case)
    return cases, problems


def load_case_file(path_or_text: str | Path) -> list[Case]:
    """Load every case from a YAML/JSON file path or text; all-or-nothing.

    Raises :class:`CaseValidationError` listing every problem if anything is invalid.
    """
    text, fmt = _read(path_or_text)
    cases, problems = validate_case_data(parse_case_text(text, fmt=fmt))
    if problems:
        raise CaseValidationError(problems)
    return cases


def _read(path_or_text: str | Path) -> tuple[str, str | None]:
    if isinstance(path_or_text, Path) or (
        isinstance(path_or_text, str) and "\n" not in path_or_text and len(path_or_text) < 1000
        and path_or_text.lower().endswith((".yaml", ".yml", ".json"))
    ):
        path = Path(path_or_text)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise CaseValidationError([Problem("file", f"cannot read {path}: {exc.strerror}")])
        if size > MAX_FILE_BYTES:
            raise CaseValidationError([Problem("file", f"is too large ({size} bytes)")])
        fmt = "json" if path.suffix.lower() == ".json" else "yaml"
        return path.read_text(encoding="utf-8", errors="replace"), fmt
    text = str(path_or_text)
    if len(text.encode("utf-8", errors="replace")) > MAX_FILE_BYTES:
        raise CaseValidationError([Problem("file", "is too large")])
    return text, None


# ---------------------------------------------------------------------------------------------
# Small helpers


def _fmt_age(age: float) -> str:
    return str(int(age)) if float(age).is_integer() else f"{age:g}"


def _norm_name(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def slugify(text: str, limit: int = 80) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")
    return slug or "case"


__all__ = [
    "Case", "CaseTest", "CaseValidationError", "CriticalAction", "Demographics", "DiagnosisSpec",
    "EXAM_SYSTEMS", "ExamFinding", "Fact", "INTENT_LABELS", "Problem", "ROS_SYSTEMS", "RosEntry",
    "SOCIAL_TOPICS", "TEST_CATEGORIES", "Vitals", "case_to_dict", "load_case", "load_case_file",
    "parse_case_text", "slugify", "validate_case", "validate_case_data",
]
