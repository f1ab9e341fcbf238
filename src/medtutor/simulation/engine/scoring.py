"""Debrief: score a virtual-patient encounter from its case and its event timeline (pure).

Given the case and what the learner did (questions with the facts each answer revealed,
examinations, tests, interventions, the submitted diagnosis and differential, each stamped with
the simulated minute), compute:

- history coverage: key facts elicited / key facts in the case;
- examination coverage: systems examined among those holding key (else abnormal) findings;
- tests: needed tests ordered or missed, unneeded tests, total cost;
- critical actions: done in time, late (after the deadline) or missed;
- diagnostic accuracy: leading diagnosis matched to the case's diagnosis (synonyms, spelling,
  word order, through the interview helper's matcher) and the rank of the right answer in the
  differential; share of the case's differential the learner considered;
- comparison with the expert path, teaching points, time taken;
- an overall score 0-100 with its weighted components and the reasons for each.

Components a case cannot assess (no critical actions, no tests) drop out and the remaining
weights are rescaled, so a history-taking case is not marked down for having no resuscitation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from medtutor.simulation.engine import diagnosis as dx
from medtutor.simulation.engine.case import Case, CaseTest
from medtutor.simulation.engine.physiology import INTERVENTIONS
from medtutor.simulation.engine.textmatch import content_stems, normalize

MODEL_NAME = "vp-debrief"
MODEL_VERSION = "1.0"

# Weights of the overall score (sum 1). History and diagnosis carry most, as in OSCE history
# stations; critical actions weigh as much in acute cases because missing them harms patients.
WEIGHTS: dict[str, float] = {
    "history": 0.25, "examination": 0.15, "tests": 0.10, "critical_actions": 0.25, "diagnosis": 0.25,
}
UNNEEDED_TEST_PENALTY = 0.1       # each unneeded test costs a tenth of the tests component
LATE_ACTION_CREDIT = 0.5          # a critical action done late earns half

EVENT_KINDS = ("question", "exam", "test", "intervention", "diagnosis", "advance", "note")


@dataclass(frozen=True)
class TimelineEvent:
    minute: int                         # simulated minute when it happened
    kind: str                           # one of EVENT_KINDS
    detail: str                         # question text, system, test name, intervention code, diagnosis
    answer: str = ""                    # patient's answer, finding or result text
    fact_ids: tuple[str, ...] = ()      # facts the answer revealed (questions)
    differential: tuple[str, ...] = ()  # ranked differential (diagnosis events)
    result_minute: int | None = None    # when a test result is available


@dataclass(frozen=True)
class DiagnosisMatch:
    """What the matcher says about one submitted diagnosis."""

    matched: str | None      # the case's diagnosis/differential name it matched, if any
    correct: bool            # matched the case's final diagnosis
    score: float             # 0..1 similarity
    confidence: float = 1.0


Matcher = Callable[[str, Case], DiagnosisMatch]


def default_matcher(text: str, case: Case) -> DiagnosisMatch:
    """The interview engine's diagnosis matcher (synonyms, abbreviations, spelling, word order),
    applied to the case diagnosis first, then to each differential entry."""
    final = dx.match_case_diagnosis(text, case)
    if final.matched:
        matched, score_value = case.diagnosis.name, final.score
    else:
        matched, score_value = None, final.score
        for option in case.differential:
            m = dx.match_diagnosis(text, option.name, option.synonyms)
            if m.matched and (matched is None or m.score > score_value):
                matched, score_value = option.name, m.score
    # Far from the threshold either way = confident; near it = a judgement call.
    confidence = round(0.5 + min(0.5, abs(score_value - dx.MATCH_THRESHOLD) * 2.5), 3)
    return DiagnosisMatch(matched, final.matched, score_value, confidence)


@dataclass(frozen=True)
class FactItem:
    id: str
    text: str
    elicited: bool
    minute: int | None = None


@dataclass(frozen=True)
class Coverage:
    items: tuple[FactItem, ...]

    @property
    def done(self) -> int:
        return sum(1 for i in self.items if i.elicited)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


@dataclass(frozen=True)
class TestLine:
    name: str
    needed: bool
    ordered: bool
    cost: float
    minute: int | None = None
    known: bool = True       # False: ordered but not in the case (a test the case does not list)


@dataclass(frozen=True)
class TestsSummary:
    lines: tuple[TestLine, ...]

    @property
    def needed_ordered(self) -> tuple[TestLine, ...]:
        return tuple(t for t in self.lines if t.needed and t.ordered)

    @property
    def needed_missed(self) -> tuple[TestLine, ...]:
        return tuple(t for t in self.lines if t.needed and not t.ordered)

    @property
    def unneeded(self) -> tuple[TestLine, ...]:
        return tuple(t for t in self.lines if t.ordered and not t.needed)

    @property
    def total_cost(self) -> float:
        return sum(t.cost for t in self.lines if t.ordered)

    @property
    def expert_cost(self) -> float:
        return sum(t.cost for t in self.lines if t.needed)


@dataclass(frozen=True)
class ActionResult:
    id: str
    description: str
    status: str              # done | late | missed
    minute: int | None
    deadline_minutes: int | None


@dataclass(frozen=True)
class DiagnosisResult:
    submitted: str
    correct: bool
    matched: str | None
    differential: tuple[str, ...]
    correct_rank: int | None               # 1 = leading diagnosis
    differential_considered: tuple[str, ...]
    differential_missed: tuple[str, ...]
    confidence: float


@dataclass(frozen=True)
class ExpertStep:
    text: str
    done: bool
    minute: int | None


@dataclass(frozen=True)
class Component:
    name: str
    score: float             # 0..1
    weight: float            # after rescaling
    reason: str

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Debrief:
    case_id: str
    history: Coverage
    examination: Coverage
    tests: TestsSummary
    critical_actions: tuple[ActionResult, ...]
    diagnosis: DiagnosisResult | None
    expert_path: tuple[ExpertStep, ...]
    teaching_points: tuple[str, ...]
    time_minutes: int
    questions_asked: int
    components: tuple[Component, ...]
    overall: float           # 0..100
    confidence: float        # 0..1
    reasons: tuple[str, ...] = field(default=())
    model_name: str = MODEL_NAME
    model_version: str = MODEL_VERSION

    def as_dict(self) -> dict[str, object]:
        return {
            "case_id": self.case_id, "overall": self.overall, "confidence": self.confidence,
            "time_minutes": self.time_minutes, "questions_asked": self.questions_asked,
            "components": {c.name: {"score": round(c.score, 3), "weight": round(c.weight, 3), "reason": c.reason}
                           for c in self.components},
            "history": {"elicited": self.history.done, "total": self.history.total,
                        "missed": [i.text for i in self.history.items if not i.elicited]},
            "examination": {"examined": self.examination.done, "total": self.examination.total,
                            "missed": [i.id for i in self.examination.items if not i.elicited]},
            "tests": {"needed_ordered": [t.name for t in self.tests.needed_ordered],
                      "needed_missed": [t.name for t in self.tests.needed_missed],
                      "unneeded": [t.name for t in self.tests.unneeded], "total_cost": self.tests.total_cost},
            "critical_actions": [{"id": a.id, "status": a.status, "minute": a.minute} for a in self.critical_actions],
            "diagnosis": None if self.diagnosis is None else {
                "submitted": self.diagnosis.submitted, "correct": self.diagnosis.correct,
                "correct_rank": self.diagnosis.correct_rank},
            "reasons": list(self.reasons),
            "model": f"{self.model_name} {self.model_version}",
        }


# ---------------------------------------------------------------------------------------------
# Parts


def history_coverage(case: Case, events: Sequence[TimelineEvent]) -> Coverage:
    first_seen: dict[str, int] = {}
    for event in events:
        if event.kind == "question":
            for fid in event.fact_ids:
                first_seen.setdefault(fid, event.minute)
    return Coverage(tuple(FactItem(f.id, f.text, f.id in first_seen, first_seen.get(f.id))
                          for f in case.key_facts()))


def relevant_exam_systems(case: Case) -> tuple[str, ...]:
    """Systems a good examination covers: those with key findings, else abnormal ones, else all."""
    for wanted in (lambda f: f.key, lambda f: f.abnormal is True):
        systems = tuple(dict.fromkeys(f.system for f in case.examination if wanted(f)))
        if systems:
            return systems
    return case.exam_systems()


def exam_coverage(case: Case, events: Sequence[TimelineEvent]) -> Coverage:
    first: dict[str, int] = {}
    for event in events:
        if event.kind == "exam":
            first.setdefault(event.detail, event.minute)
    items = []
    for system in relevant_exam_systems(case):
        text = "; ".join(f.text for f in case.findings(system))
        items.append(FactItem(system, text, system in first, first.get(system)))
    return Coverage(tuple(items))


def tests_summary(case: Case, events: Sequence[TimelineEvent]) -> TestsSummary:
    ordered: dict[str, int] = {}
    unknown: list[TestLine] = []
    for event in events:
        if event.kind != "test":
            continue
        test: CaseTest | None = case.test(event.detail)
        if test is None:
            if normalize(event.detail) not in {normalize(u.name) for u in unknown}:
                unknown.append(TestLine(event.detail, False, True, 0.0, event.minute, known=False))
        else:
            ordered.setdefault(test.name, event.minute)
    lines = [TestLine(t.name, t.needed, t.name in ordered, t.cost, ordered.get(t.name)) for t in case.tests]
    return TestsSummary(tuple(lines + unknown))


# How expert paths name what an examination of each system covers (the A-E approach, Resuscitation
# Council UK, maps airway/breathing/circulation onto these systems).
_EXAM_WORDS: dict[str, tuple[str, ...]] = {
    "vitals": ("vital signs observations", "airway breathing circulation"),
    "general": ("general appearance", "airway breathing circulation"),
    "respiratory": ("breathing chest lungs",),
    "cardiovascular": ("circulation heart pulse",),
    "neurological": ("nervous system neurology meningism pupils",),
    "abdominal": ("abdomen",),
    "heent": ("throat ears eyes",),
}


def _event_descriptors(event: TimelineEvent, case: Case) -> list[str]:
    if event.kind == "intervention":
        iv = INTERVENTIONS.get(event.detail)
        return [event.detail.replace("_", " ")] + ([iv.label] if iv else [])
    if event.kind == "test":
        test = case.test(event.detail)
        return [event.detail] + ([test.name, *test.synonyms] if test else [])
    if event.kind == "exam":
        return [f"examine {event.detail}", f"{event.detail} examination",
                *(f"examine {words}" for words in _EXAM_WORDS.get(event.detail, ()))]
    if event.kind == "question":
        return ["history", "take a history"]
    if event.kind == "diagnosis":
        return ["diagnosis", event.detail]
    return []


def _matches_code(code: str, event: TimelineEvent, case: Case) -> bool:
    """Did this event perform the action named by ``code`` (an intervention code, test or system)?"""
    wanted = normalize(code.replace("_", " "))
    if event.kind == "intervention":
        return event.detail == code or normalize(event.detail.replace("_", " ")) == wanted
    if event.kind == "test":
        test = case.test(event.detail)
        named = case.test(code)
        return (test is not None and named is not None and test.name == named.name) or normalize(event.detail) == wanted
    if event.kind == "exam":
        return normalize(event.detail) == wanted
    return False


def _text_overlap(step: str, descriptor: str) -> bool:
    a, b = set(content_stems(step)), set(content_stems(descriptor))
    if not a or not b:
        return False
    return len(a & b) / len(b) >= 0.6 or len(a & b) / len(a) >= 0.6


def critical_actions(case: Case, events: Sequence[TimelineEvent]) -> tuple[ActionResult, ...]:
    out = []
    for action in case.critical_actions:
        minute = None
        for event in events:
            hit = (_matches_code(action.intervention, event, case) if action.intervention
                   else any(_text_overlap(action.description, d) for d in _event_descriptors(event, case)
                            if event.kind in ("intervention", "test", "exam")))
            if hit:
                minute = event.minute
                break
        if minute is None:
            status = "missed"
        elif action.deadline_minutes is not None and minute > action.deadline_minutes:
            status = "late"
        else:
            status = "done"
        out.append(ActionResult(action.id, action.description, status, minute, action.deadline_minutes))
    return tuple(out)


def diagnosis_result(case: Case, events: Sequence[TimelineEvent], matcher: Matcher) -> DiagnosisResult | None:
    submissions = [e for e in events if e.kind == "diagnosis"]
    if not submissions:
        return None
    last = submissions[-1]
    ranked = [last.detail, *[d for d in last.differential if d.strip()]]
    matches = [matcher(text, case) for text in ranked]
    correct_rank = next((i + 1 for i, m in enumerate(matches) if m.correct), None)
    considered_names = {normalize(m.matched) for m in matches if m.matched}
    considered = tuple(d.name for d in case.differential if normalize(d.name) in considered_names)
    missed = tuple(d.name for d in case.differential if normalize(d.name) not in considered_names)
    return DiagnosisResult(last.detail, correct_rank == 1, matches[0].matched, tuple(ranked[1:]), correct_rank,
                           considered, missed, matches[0].confidence)


def expert_comparison(case: Case, events: Sequence[TimelineEvent]) -> tuple[ExpertStep, ...]:
    steps = []
    for step in case.expert_path:
        minute = None
        for event in events:
            if any(_text_overlap(step, d) for d in _event_descriptors(event, case)):
                minute = event.minute
                break
        steps.append(ExpertStep(step, minute is not None, minute))
    return tuple(steps)


# ---------------------------------------------------------------------------------------------
# Score


def score(case: Case, events: Iterable[TimelineEvent], matcher: Matcher = default_matcher, *,
          end_minute: int | None = None) -> Debrief:
    timeline = sorted(events, key=lambda e: e.minute)
    history = history_coverage(case, timeline)
    exam = exam_coverage(case, timeline)
    tests = tests_summary(case, timeline)
    actions = critical_actions(case, timeline)
    diagnosis = diagnosis_result(case, timeline, matcher)
    parts: list[tuple[str, float, str, float]] = []   # name, score, reason, confidence

    if history.total:
        parts.append(("history", history.fraction or 0.0,
                      f"elicited {history.done} of {history.total} key history facts", 0.85))
    if exam.total:
        parts.append(("examination", exam.fraction or 0.0,
                      f"examined {exam.done} of {exam.total} relevant systems", 1.0))
    needed_total = len(tests.needed_ordered) + len(tests.needed_missed)
    if needed_total or tests.unneeded:
        recall = len(tests.needed_ordered) / needed_total if needed_total else 1.0
        value = max(0.0, recall - UNNEEDED_TEST_PENALTY * len(tests.unneeded))
        parts.append(("tests", value, f"ordered {len(tests.needed_ordered)} of {needed_total} needed tests, "
                      f"{len(tests.unneeded)} unneeded; cost {tests.total_cost:g} (expert {tests.expert_cost:g})", 1.0))
    if actions:
        credit = sum(1.0 if a.status == "done" else LATE_ACTION_CREDIT if a.status == "late" else 0.0
                     for a in actions)
        done = sum(a.status == "done" for a in actions)
        late = sum(a.status == "late" for a in actions)
        parts.append(("critical_actions", credit / len(actions),
                      f"{done} of {len(actions)} critical actions in time, {late} late, "
                      f"{len(actions) - done - late} missed", 1.0))
    if diagnosis is None:
        parts.append(("diagnosis", 0.0, "no diagnosis submitted", 1.0))
    else:
        rank_credit = {1: 1.0, 2: 0.5, 3: 0.4}.get(diagnosis.correct_rank or 0,
                                                   0.25 if diagnosis.correct_rank else 0.0)
        ddx_total = len(diagnosis.differential_considered) + len(diagnosis.differential_missed)
        ddx_share = len(diagnosis.differential_considered) / ddx_total if ddx_total else 1.0
        value = 0.8 * rank_credit + 0.2 * ddx_share
        where = ("leading diagnosis correct" if diagnosis.correct_rank == 1 else
                 f"correct diagnosis ranked {diagnosis.correct_rank} in the differential" if diagnosis.correct_rank
                 else "correct diagnosis not named")
        parts.append(("diagnosis", value, f"{where}; considered {len(diagnosis.differential_considered)} of "
                      f"{ddx_total} differentials", diagnosis.confidence))

    total_weight = sum(WEIGHTS[name] for name, *_ in parts)
    components = tuple(Component(name, value, WEIGHTS[name] / total_weight, reason)
                       for name, value, reason, _ in parts)
    overall = round(100 * sum(c.score * c.weight for c in components), 1)
    confidence = round(sum(conf * WEIGHTS[name] for name, _, _, conf in parts) / total_weight, 3)
    last_minute = max((e.minute for e in timeline), default=0)
    reasons = tuple(f"{c.name.replace('_', ' ')}: {c.reason} ({round(100 * c.score)}%, weight "
                    f"{round(100 * c.weight)}%)" for c in components)
    return Debrief(case.id, history, exam, tests, actions, diagnosis, expert_comparison(case, timeline),
                   case.teaching_points, end_minute if end_minute is not None else last_minute,
                   sum(e.kind == "question" for e in timeline), components, overall, confidence, reasons)
