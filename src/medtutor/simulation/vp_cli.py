"""Logic behind `medtutor vp ...` and `medtutor bench vp` (no Django needed: engines only).

Each function returns (lines to print, exit code) so the typer commands stay thin and testable.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .engine.case import Case, Fact
from .engine.importers import ImportReport, import_path
from .engine.intent import (
    KeywordBaseline, classify, confusion_summary, cross_validate, default_classifier,
    load_labelled,
)
from .engine.interview import _SYMPTOM_RE, OPENING_FACT_ID, Interviewer
from .engine.textmatch import content_stems, normalize

DEFAULT_CASES_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "cases"
LATENCY_GOAL_MS = 50.0


# ---------------------------------------------------------------------------------------------
# vp intent


def intent_command(question: str | None, file: Path | None) -> tuple[list[str], int]:
    if file is None:
        if question is None:
            return ["error: give a QUESTION or --file FILE"], 2
        pred = classify(question)
        return [f"{pred.label}\t{pred.confidence:.2f}"], 0
    try:
        data = load_labelled(file)
    except (OSError, ValueError) as exc:
        return [f"error: {file}: {exc}"], 2
    if not data:
        return [f"error: {file}: no questions"], 2
    preds = default_classifier().predict_many([d.question for d in data])
    pairs = [(d.intent, p.label) for d, p in zip(data, preds)]
    correct = sum(t == p for t, p in pairs)
    lines = [f"accuracy {correct / len(pairs):.3f} ({correct}/{len(pairs)})"]
    confusions = confusion_summary(pairs, top=15)
    if confusions:
        lines.append("most frequent confusions (true -> predicted: count):")
        lines += [f"  {t} -> {p}: {n}" for t, p, n in confusions]
    per_label: dict[str, list[int]] = {}
    for t, p in pairs:
        per_label.setdefault(t, [0, 0])
        per_label[t][0] += t == p
        per_label[t][1] += 1
    worst = sorted(per_label.items(), key=lambda kv: kv[1][0] / kv[1][1])[:5]
    lines.append("lowest per-label accuracy: " + ", ".join(
        f"{k} {v[0]}/{v[1]}" for k, v in worst))
    return lines, 0


# ---------------------------------------------------------------------------------------------
# vp ask


def ask_command(case_file: Path, case_number: int, question: str) -> tuple[list[str], int]:
    report = import_path(case_file)
    if not report.cases:
        problems = [p for r in report.results for p in r.problems][:10]
        return [f"error: {case_file}: no case could be loaded"] + [f"  {p}" for p in problems], 2
    cases = report.cases
    if not 1 <= case_number <= len(cases):
        return [f"error: --case must be between 1 and {len(cases)}"], 2
    case = cases[case_number - 1]
    reply = Interviewer(case).ask(question)
    return [reply.text, f"[intent {reply.intent} {reply.confidence:.2f}; "
                        f"facts {', '.join(reply.fact_ids) or '-'}; case {case.id}]"], 0


# ---------------------------------------------------------------------------------------------
# Fact-recall evaluation: questions generated from the imported cases with templates that are
# NOT the training phrasing.

GENERIC_TEMPLATES: dict[str, tuple[str, ...]] = {
    "onset": ("Could you tell me when all of this first began?", "When did you first become aware of it?"),
    "duration": ("How much time has passed since this began?", "For how long has this been troubling you?"),
    "location": ("Whereabouts do you feel it most?", "In which area of your body is it?"),
    "character": ("What sort of feeling is it exactly?", "Could you put the feeling into words for me?"),
    "radiation": ("Does it move or spread into other areas?", "Do you feel it spreading elsewhere?"),
    "severity": ("Just how bad has it got?", "How would you grade how severe it is?"),
    "timing": ("Is it there all the time or on and off?", "Does it follow any pattern during the day?"),
    "aggravating": ("Is there something that brings it on or makes it worse?", "What seems to make it worse?"),
    "relieving": ("Is there something that makes it ease off?", "What have you found eases it?"),
    "prior_episodes": ("Have you ever experienced this in the past?", "Did this ever happen to you previously?"),
    "past_medical_history": ("Are there any health conditions you've been told you have?", "What medical problems have you had?"),
    "surgical_history": ("Has anyone ever operated on you?", "Have you been through any surgery?"),
    "medications": ("Which medicines are you taking these days?", "Tell me about any medicines you use."),
    "allergies": ("Do any medicines disagree with you or cause reactions?", "Are there any allergies I should know about?"),
    "family_history": ("Do any health problems run in your family?", "What about the health of your close relatives?"),
    "smoking": ("Tell me about cigarettes, do you use them?", "What about tobacco?"),
    "alcohol": ("How much alcohol would you have in a week?", "Tell me about alcohol."),
    "recreational_drugs": ("Do you take any drugs that aren't prescribed?", "What about street drugs?"),
    "occupation": ("How do you earn a living?", "What line of work are you in?"),
    "living_situation": ("Tell me about your home life.", "Who shares your home with you?"),
    "travel": ("Any trips away from home recently?", "Have you been travelling lately?"),
    "sexual_history": ("May I ask about your sexual health?", "Tell me about your sexual partners."),
    "diet_exercise": ("Tell me about what you eat and how active you are.", "How about exercise and diet?"),
    "obstetric_gynecologic": ("Tell me about your periods and any pregnancies.", "Might you be pregnant?"),
    "ideas_concerns_expectations": ("What's your own theory about what's going on?", "What's worrying you about this?"),
}
SPECIFIC_TEMPLATES = ("Have you been having any {term}?", "What about {term}?",
                      "Have you noticed {term} at all?")
SPECIFIC_TOPICS = {"associated_symptoms", "ros_constitutional", "ros_cardiovascular",
                   "ros_respiratory", "ros_gastrointestinal", "ros_genitourinary",
                   "ros_neurologic", "ros_musculoskeletal", "ros_skin", "ros_psychiatric"}


@dataclass(frozen=True)
class RecallQuestion:
    case: Case
    question: str
    expected: frozenset[str]      # fact ids any of which answers it
    kind: str                     # generic | specific


def recall_questions(cases: Sequence[Case]) -> list[RecallQuestion]:
    out: list[RecallQuestion] = []
    for case in cases:
        facts = case.facts()
        by_topic: dict[str, list[Fact]] = {}
        for f in facts:
            by_topic.setdefault(f.topic, []).append(f)
        for topic, group in by_topic.items():
            if topic in SPECIFIC_TOPICS:
                for f in group:
                    term = _symptom_term(f.text)
                    if not term:
                        continue
                    template = SPECIFIC_TEMPLATES[_h(case.id + f.id) % len(SPECIFIC_TEMPLATES)]
                    # Any statement naming the symptom answers it (often the presenting one,
                    # which the patient may repeat from the opening statement).
                    same = frozenset(g.id for g in facts if term in normalize(g.text))
                    if term in normalize(case.opening_statement):
                        same |= {OPENING_FACT_ID}
                    out.append(RecallQuestion(case, template.format(term=term), same | {f.id},
                                              "specific"))
            elif topic in GENERIC_TEMPLATES:
                templates = GENERIC_TEMPLATES[topic]
                q = templates[_h(case.id + topic) % len(templates)]
                out.append(RecallQuestion(case, q, frozenset(f.id for f in group), "generic"))
    return out


def _symptom_term(text: str) -> str:
    m = _SYMPTOM_RE.search(normalize(text))
    return m.group(0) if m else ""


def _h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


class LexicalBaseline:
    """Same-run baseline: answer with the single fact sharing the most content words."""

    def __init__(self, case: Case):
        self.facts = [(f, set(content_stems(f.text))) for f in case.facts()]

    def ask(self, question: str) -> tuple[str, ...]:
        q = set(content_stems(question))
        best, best_n = None, 0
        for f, stems in self.facts:
            n = len(q & stems)
            if n > best_n:
                best, best_n = f, n
        return (best.id,) if best is not None else ()


# ---------------------------------------------------------------------------------------------
# bench vp


def _sample(cases: list[Case], limit: int) -> list[Case]:
    if len(cases) <= limit:
        return cases
    return sorted(cases, key=lambda c: _h(c.id))[:limit]


def _pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[k]


def run_bench(paths: Iterable[Path], *, max_cases: int = 250, folds: int = 5,
              log: Callable[[str], None] = lambda _line: None) -> list[str]:
    lines: list[str] = []
    paths = list(paths)
    reports: list[ImportReport] = []
    lines.append("Import coverage (every record imports or is reported with a reason)")
    lines.append(f"{'file':44} {'records':>8} {'imported':>9} {'reported':>9} {'s':>6}")
    for p in paths:
        t0 = time.perf_counter()
        rep = import_path(p)
        dt = time.perf_counter() - t0
        reports.append(rep)
        total = len(rep.results)
        lines.append(f"{Path(p).name[:44]:44} {total:>8} {rep.imported:>9} {rep.reported:>9} "
                     f"{dt:>6.1f}")
        for reason, n in sorted(rep.reasons().items(), key=lambda kv: -kv[1])[:3]:
            lines.append(f"    {n:>4} x {reason[:100]}")
        assert rep.imported + rep.reported == total
        log(f"imported {p}")
    all_cases = [c for r in reports for c in r.cases]
    lines.append(f"cases imported: {len(all_cases)}; unaccounted records: 0")
    lines.append("")

    data = load_labelled()
    t0 = time.perf_counter()
    acc, pairs = cross_validate(data, folds=folds)
    base_acc, _ = cross_validate(data, folds=folds, make=KeywordBaseline)
    majority = max(sum(1 for d in data if d.intent == lab) for lab in {d.intent for d in data})
    lines.append(f"Intent accuracy, {folds}-fold stratified cross-validation on "
                 f"{len(data)} labelled questions ({len({d.intent for d in data})} labels)"
                 f"  [{time.perf_counter() - t0:.0f} s]")
    lines.append(f"  ours (TF-IDF word+char, linear SVM)   {acc:.3f}")
    lines.append(f"  baseline: keyword rules               {base_acc:.3f}")
    lines.append(f"  baseline: majority class              {majority / len(data):.3f}")
    lines.append("  top confusions: " + "; ".join(
        f"{t}->{p} {n}" for t, p, n in confusion_summary(pairs, top=5)))
    lines.append("")
    log("intent cross-validation done")

    default_classifier()         # train once, outside the timings
    sample = _sample(all_cases, max_cases)
    questions = recall_questions(sample)
    interviewers: dict[str, Interviewer] = {}
    baselines: dict[str, LexicalBaseline] = {}
    ours_hits = {"generic": [0, 0], "specific": [0, 0]}
    base_hits = {"generic": [0, 0], "specific": [0, 0]}
    latencies: list[float] = []
    base_latencies: list[float] = []
    for rq in questions:
        if rq.case.id not in interviewers:
            interviewers[rq.case.id] = Interviewer(rq.case)
            baselines[rq.case.id] = LexicalBaseline(rq.case)
        iv, bl = interviewers[rq.case.id], baselines[rq.case.id]
        t0 = time.perf_counter()
        reply = iv.ask(rq.question)
        latencies.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        base_ids = bl.ask(rq.question)
        base_latencies.append((time.perf_counter() - t0) * 1000)
        ours_hits[rq.kind][1] += 1
        base_hits[rq.kind][1] += 1
        ours_hits[rq.kind][0] += bool(set(reply.fact_ids) & rq.expected)
        base_hits[rq.kind][0] += bool(set(base_ids) & rq.expected)
    log("fact recall done")

    # Robustness turns: odd inputs must give a reply, never an exception.
    odd = ["", "   ", "?", "WHEN DID THE PAIN START", "wen did teh pian strat",
           "x" * 20000, "¿Dónde le duele?", "痛みはいつからですか", "\x00\x01", "a" * 5,
           "do you smoke " * 200]
    odd_ok = 0
    if sample:
        iv = Interviewer(sample[0])
        for q in odd:
            t0 = time.perf_counter()
            r = iv.ask(q)
            latencies.append((time.perf_counter() - t0) * 1000)
            odd_ok += bool(r.text)

    def rate(h: dict[str, list[int]], key: str | None = None) -> str:
        if key:
            n, d = h[key]
        else:
            n, d = sum(v[0] for v in h.values()), sum(v[1] for v in h.values())
        return f"{n / d:.3f} ({n}/{d})" if d else "n/a"

    lines.append(f"Fact recall on {len(questions)} generated questions from {len(sample)} "
                 f"imported cases (templates differ from the training phrasing)")
    lines.append(f"{'':38} {'ours':>20} {'lexical baseline':>20}")
    for key in ("generic", "specific"):
        lines.append(f"  {key + ' questions':36} {rate(ours_hits, key):>20} "
                     f"{rate(base_hits, key):>20}")
    lines.append(f"  {'all':36} {rate(ours_hits):>20} {rate(base_hits):>20}")
    lines.append("")
    p50, p95 = _pct(latencies, 0.5), _pct(latencies, 0.95)
    lines.append(f"Per-turn latency over {len(latencies)} turns (no LLM): p50 {p50:.1f} ms, "
                 f"p95 {p95:.1f} ms, max {max(latencies, default=0):.1f} ms "
                 f"(goal p95 < {LATENCY_GOAL_MS:.0f} ms: {'met' if p95 < LATENCY_GOAL_MS else 'NOT met'})"
                 f"; lexical baseline p95 {_pct(base_latencies, 0.95):.2f} ms")
    lines.append(f"Odd inputs answered without error: {odd_ok}/{len(odd)}")
    return lines


def default_case_files() -> list[Path]:
    base = DEFAULT_CASES_DIR
    files = sorted(base.glob("*/*.jsonl")) + sorted(base.glob("*/*.csv"))
    return files
