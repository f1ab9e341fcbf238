"""The differential-diagnosis trainer: the fitted model, patients, sessions, and the engine comparison.

The model is fitted on first use from the DDXPlus files (knowledge base + the development patient
file, 80% of its patients by a fixed seed) and cached in `<MEDTUTOR_VAR_DIR>/ddx/` as npz + json,
named by model version and data digest, so later processes load it in well under a second. Trainer
patients are the other 20%, so a learner never meets a patient the model was fitted on.
Data folder: `MEDTUTOR_DDX_DATA`, else `$MEDTUTOR_SHARED_DATA/ddxplus`, else `../shared/data/ddxplus`
beside the checkout.
"""

from __future__ import annotations

import os
import random
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from medtutor.core import clock
from medtutor.core.audit import record_decision
from medtutor.core.errors import InvalidInput, NotFound
from medtutor.core.permissions import ADMIN, FACULTY, STUDENT, has_role
from medtutor.decision.engine.ddx import (
    MODEL_NAME,
    MODEL_VERSION,
    DdxModel,
    DdxState,
    StopPolicy,
    model_file,
    patient_answer,
    tune_differential_rule,
)
from medtutor.decision.engine.ddx_data import (
    DdxDataError,
    KnowledgeBase,
    Patient,
    Question,
    file_digest,
    load_kb,
    load_patients,
    split_patients,
)
from medtutor.decision.models import RegisteredModel, TrainerSession

PATIENT_FILE = "validate_subset_en.csv.gz"
SPLIT_SEED = 0
POLICY = StopPolicy()
INFORMATIVE_BITS = 0.1  # a question expected to teach at least this much was worth asking
WASTED_BITS = 0.02  # below this, the answer was all but known already
MAX_DIFFERENTIAL = 5
NOT_FOR_CARE = "For education, not patient care."


class ModelDisabled(InvalidInput):
    status = 409


def data_dir() -> Path:
    if explicit := os.environ.get("MEDTUTOR_DDX_DATA"):
        return Path(explicit)
    if shared := os.environ.get("MEDTUTOR_SHARED_DATA"):
        return Path(shared) / "ddxplus"
    return Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ddxplus"


@dataclass
class DdxLab:
    kb: KnowledgeBase
    model: DdxModel
    patients: dict[str, Patient]  # trainer patients (held out from fitting) by row index
    data_digest: str
    stem: Path  # the cached model files: <stem>.npz + <stem>.json

    @property
    def version(self) -> str:
        """Registry version: the engine's version and the data it was fitted on."""
        return f"{MODEL_VERSION}-{self.data_digest[:12]}"

    def patient(self, index: int) -> Patient:
        try:
            return self.patients[str(index)]
        except KeyError:
            raise NotFound("that patient is not in the trainer's patient set") from None


_lab: DdxLab | None = None
_lab_lock = threading.Lock()


def get_lab() -> DdxLab:
    """The fitted model and trainer patients, loaded once per process (fitted once per data version)."""
    global _lab
    with _lab_lock:
        if _lab is None:
            _lab = _build_lab(data_dir(), Path(settings.VAR_DIR) / "ddx")
        return _lab


def _build_lab(folder: Path, cache_dir: Path) -> DdxLab:
    patient_path = folder / "patients" / PATIENT_FILE
    try:
        kb = load_kb(folder / "kb_en")
        patients = load_patients(patient_path, kb)
        digest = file_digest(patient_path)
    except DdxDataError as error:
        raise NotFound(f"the DDXPlus data are not available: {error}") from error
    train, held_out = split_patients(patients, test_fraction=0.2, seed=SPLIT_SEED)
    stem = cache_dir / f"{MODEL_NAME}-{MODEL_VERSION}-{digest[:12]}-{kb.digest[:12]}"
    model = None
    if model_file(stem, ".npz").exists() and model_file(stem, ".json").exists():
        try:
            model = DdxModel.load(stem, kb)
        except (ValueError, OSError, KeyError):
            model = None  # a stale or damaged cache is refitted below
    if model is None:
        model = DdxModel.fit(kb, train, meta={"data_digest": digest, "data_file": PATIENT_FILE,
                                              "split": f"80% of patients, seed {SPLIT_SEED}"})
        tune_differential_rule(model, random.Random(SPLIT_SEED).sample(train, min(500, len(train))), POLICY)
        model.meta["metrics"] = _held_out_metrics(model, held_out)
        model.save(stem)
    return DdxLab(kb, model, {p.ident: p for p in held_out}, digest, stem)


def _held_out_metrics(model: DdxModel, held_out: list[Patient], n: int = 300) -> dict[str, Any]:
    """Top-1/top-5 and questions asked on held-out patients, for the model card (the benchmark does more)."""
    sample = random.Random(SPLIT_SEED).sample(held_out, min(n, len(held_out)))
    top1 = top5 = questions = 0
    for patient in sample:
        result = model.interview(patient, POLICY)
        names = [d.name for d in result.differential]
        top1 += names[0] == patient.pathology
        top5 += patient.pathology in names[:5]
        questions += len(result.steps)
    return {"n_held_out": len(sample), "top1": round(top1 / len(sample), 4), "top5": round(top5 / len(sample), 4),
            "mean_questions": round(questions / len(sample), 2), "stop_confidence": POLICY.confidence,
            "max_questions": POLICY.max_questions}


def model_card(lab: DdxLab) -> str:
    meta = lab.model.meta
    metrics = meta.get("metrics", {})
    return "\n".join([
        f"# {MODEL_NAME} v{lab.version}",
        "",
        "## Intended use",
        "Education only: the differential-diagnosis trainer shows students how a Bayesian model updates a "
        "differential after each answer and which question is most informative. **Not for patient care.**",
        "",
        "## Model",
        "Naive Bayes over the 49 DDXPlus pathologies: prior by age band and sex, likelihood of the opening "
        "complaint, one categorical likelihood per question (follow-ups given a positive parent), smoothed "
        "towards the knowledge base's pathology-evidence links. Questions chosen by expected information gain; "
        f"stops at posterior {POLICY.confidence} or {POLICY.max_questions} questions.",
        "",
        "## Data",
        f"DDXPlus (Fansi Tchango et al., NeurIPS 2022; CC-BY), file `{meta.get('data_file', PATIENT_FILE)}` "
        f"(SHA-256 `{lab.data_digest}`), {meta.get('n_train', '?')} training patients "
        f"({meta.get('split', '')}); knowledge base SHA-256 `{lab.kb.digest}`.",
        "",
        "## Metrics (held-out patients of the same file)",
        f"| patients | top-1 | top-5 | mean questions |\n|---|---|---|---|\n| {metrics.get('n_held_out', '?')} | "
        f"{metrics.get('top1', '?')} | {metrics.get('top5', '?')} | {metrics.get('mean_questions', '?')} |",
        "",
        "## Limitations",
        "- The patients are synthetic, and the available subset covers only 19 of the 49 pathologies, so the "
        "figures are far higher than on the full DDXPlus test set and do not transfer to real patients.",
        "- Naive Bayes treats findings as independent and is overconfident; probabilities are not calibrated.",
        "- Pathologies without training patients rest on the knowledge base alone.",
        "",
        "## Ethical considerations",
        "Synthetic data, no personal information. Every posterior a user sees is recorded in the audit log with "
        "this model's name and version; faculty can disable the model, after which the trainer serves nothing.",
    ])


def _artifact_bytes(lab: DdxLab) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for suffix in (".npz", ".json"):
            archive.write(model_file(lab.stem, suffix), arcname="ddx" + suffix)
    return buffer.getvalue()


def registered_model() -> RegisteredModel | None:
    return RegisteredModel.objects.filter(name=MODEL_NAME, version=get_lab().version).first()


def ensure_registered(lab: DdxLab) -> RegisteredModel:
    """The fitted model's row in the model registry (model card, metrics, digest), written once."""
    from medtutor.decision import registry

    row = RegisteredModel.objects.filter(name=MODEL_NAME, version=lab.version).first()
    if row is not None:
        return row
    meta = lab.model.meta
    try:
        return registry.register_model(
            name=MODEL_NAME, kind="ddx", version=lab.version, data_digest=lab.data_digest,
            params={"settings": meta.get("settings", {}), "kb_digest": lab.kb.digest, "split": meta.get("split", ""),
                    "ddx_temperature": meta.get("ddx_temperature"), "ddx_cut": meta.get("ddx_cut")},
            metrics=meta.get("metrics", {}), card=model_card(lab), artifact_bytes=_artifact_bytes(lab))
    except InvalidInput:
        row = RegisteredModel.objects.filter(name=MODEL_NAME, version=lab.version).first()
        if row is None:
            raise
        return row  # registered concurrently by another process


def model_enabled() -> bool:
    """False when faculty disabled this model version in the registry: a disabled model serves nothing."""
    version = get_lab().version
    return not RegisteredModel.objects.filter(name=MODEL_NAME, version=version, enabled=False).exists()


def _require_enabled() -> None:
    if not model_enabled():
        raise ModelDisabled(f"the differential-diagnosis model {MODEL_NAME} v{get_lab().version} is disabled "
                            "by faculty; it serves nothing until it is enabled again")


# ---- presentation helpers ------------------------------------------------------------------------

def answer_label(question: Question, answer: str, lang: str = "en") -> str:
    if question.kind == "B":
        return ("Yes" if answer == "1" else "No") if lang == "en" else ("Oui" if answer == "1" else "Non")
    if answer == "__other__":
        return "another combination" if lang == "en" else "une autre combinaison"
    yes_no = {"Y": "Yes", "N": "No"} if lang == "en" else {"Y": "Oui", "N": "Non"}
    parts = [yes_no.get(label, label) for label in (question.value_label(v, lang) for v in answer.split("|"))]
    if question.kind == "C" and all(v.isdigit() for v in answer.split("|")):
        return f"{answer} / 10"
    return ", ".join(parts)


def percent_text(probability: float) -> str:
    """Percentages that never claim certainty: "<0.1%" and ">99.9%" at the ends."""
    if probability < 0.001:
        return "<0.1%"
    if probability > 0.999:
        return ">99.9%"
    return f"{100 * probability:.1f}%"


def lr_text(ratio: float | None) -> str:
    """A likelihood ratio for people: 2 significant figures, scientific beyond 1,000 or below 0.001."""
    if ratio is None:
        return "—"
    if ratio >= 1000 or ratio < 0.001:
        return f"{ratio:.1e}"
    return f"{ratio:.2g}"


def question_catalog(lab: DdxLab) -> list[dict[str, Any]]:
    return [{"code": q.code, "text_en": q.text_en, "text_fr": q.text_fr, "kind": q.kind,
             "antecedent": q.is_antecedent, "parent": q.parent} for q in lab.kb.questions]


def pathology_choices(lab: DdxLab) -> list[tuple[str, str]]:
    offered = sorted({p.pathology for p in lab.patients.values()})
    return [(name, lab.kb.pathology(name).name_en) for name in offered]


def _top(lab: DdxLab, posterior, k: int = 10) -> list[list[Any]]:
    return [[d.name, round(d.probability, 6)] for d in lab.model.differential(posterior, k)]


# ---- sessions ------------------------------------------------------------------------------------

def replay(lab: DdxLab, session: TrainerSession) -> DdxState:
    state = lab.model.start(session.age, session.sex, session.initial_evidence)
    for step in session.steps:
        state, _ = lab.model.answer(state, step["code"], step["answer"])
    return state


def session_for(user: Any, session_id: int) -> TrainerSession:
    """A learner sees only their own sessions (404 otherwise, so ids reveal nothing)."""
    session = TrainerSession.objects.filter(pk=session_id, learner=user).first()
    if session is None:
        raise NotFound("no such trainer session of yours")
    return session


def _shares_a_cohort(viewer: Any, learner_id: int) -> bool:
    from medtutor.accounts.models import Cohort

    return Cohort.objects.filter(members=viewer).filter(members__pk=learner_id).exists()


def visible_session(user: Any, session_id: int) -> tuple[TrainerSession, bool]:
    """(session, editable): the owner works on it; admins, and faculty of a cohort the learner is in,
    read it. Anyone else gets 404."""
    session = TrainerSession.objects.select_related("learner").filter(pk=session_id).first()
    if session is not None:
        if session.learner_id == user.pk:
            return session, True
        if has_role(user, ADMIN) or (has_role(user, FACULTY) and has_role(session.learner, STUDENT)
                                     and _shares_a_cohort(user, session.learner_id)):
            return session, False
    raise NotFound("no such trainer session of yours")


def review_sessions(user: Any):
    """Sessions faculty may review: their cohorts' learners (admins: everyone's), newest first."""
    rows = TrainerSession.objects.select_related("learner").exclude(learner=user)
    if not has_role(user, ADMIN):
        rows = rows.filter(learner__role=STUDENT, learner__cohorts__members=user).distinct()
    return rows.order_by("-created_at")


def start_session(user: Any, *, pathology: str | None = None, seed: int | None = None) -> TrainerSession:
    _require_enabled()
    lab = get_lab()
    ensure_registered(lab)
    candidates = sorted(lab.patients.values(), key=lambda p: int(p.ident))
    if pathology:
        if pathology not in {p.name for p in lab.kb.pathologies}:
            raise InvalidInput(f"pathology: unknown pathology {pathology!r}")
        candidates = [p for p in candidates if p.pathology == pathology]
        if not candidates:
            raise InvalidInput(f"pathology: the trainer has no patient with {pathology}; choose another")
    patient = random.Random(seed).choice(candidates)
    state = lab.model.start(patient.age, patient.sex, patient.initial_evidence)
    posterior = lab.model.posterior(state)
    now = clock.now()
    with transaction.atomic():
        session = TrainerSession.objects.create(
            learner=user, patient_file=PATIENT_FILE, patient_index=int(patient.ident), age=patient.age,
            sex=patient.sex, initial_evidence=patient.initial_evidence, pathology=patient.pathology,
            model_name=MODEL_NAME, model_version=lab.version, model_digest=lab.data_digest,
            initial_posterior=_top(lab, posterior), created_at=now, updated_at=now)
        _record(session, user, lab, stage="start", answers=[], posterior=posterior,
                explanation="Prior for the patient's age band and sex times the likelihood of the opening "
                            f"complaint ({lab.kb.question(patient.initial_evidence).text_en}).")
    return session


def _record(session: TrainerSession, user: Any, lab: DdxLab, *, stage: str, answers: list, posterior,
            explanation: str) -> None:
    top = lab.model.differential(posterior, 5)
    record_decision(
        model_name=MODEL_NAME, model_version=lab.version, subject=session, actor=user,
        action=f"ddx.{stage}",
        inputs={"patient": [session.patient_file, session.patient_index], "age": session.age, "sex": session.sex,
                "initial": session.initial_evidence, "answers": answers, "data": lab.data_digest},
        output={"top5": [[d.name, round(d.probability, 4)] for d in top]},
        explanation=explanation, confidence=min(1.0, max(0.0, top[0].probability)))


def ask(session: TrainerSession, code: str, user: Any) -> dict[str, Any]:
    """Reveal one answer from the patient's record and move the posterior; returns the new step."""
    _require_enabled()
    lab = get_lab()
    if not lab.kb.has_question(code or ""):
        raise InvalidInput(f"question: unknown question {code!r}")
    with transaction.atomic():
        session = TrainerSession.objects.select_for_update().get(pk=session.pk)
        if session.status != TrainerSession.Status.OPEN:
            raise InvalidInput("question: this session's differential is already committed")
        if code in session.asked_codes or code == session.initial_evidence:
            raise InvalidInput(f"question: {code} was already asked")
        state = replay(lab, session)
        question = lab.kb.question(code)
        if not lab.model.available(state)[lab.model.q_index[code]]:
            parent = lab.kb.question(question.parent) if question.parent else None
            raise InvalidInput(f"question: {code} is a follow-up; it can only be asked once "
                               f"\u201c{parent.text_en if parent else '?'}\u201d was answered yes")
        patient = lab.patient(session.patient_index)
        answer = patient_answer(question, patient)
        before = lab.model.posterior(state)
        state, step = lab.model.answer(state, code, answer)
        after = lab.model.posterior(state)
        record = {
            "code": code, "answer": answer, "gain_bits": round(step.gain_bits, 4),
            "likelihood_ratio": step.likelihood_ratio, "leading_before": step.leading_before,
            "leading_before_p": round(float(before.max()), 4),
            "ratios": {k: v for k, v in step.likelihood_ratios.items()},
            "entropy_before": round(step.entropy_before, 4), "entropy_after": round(step.entropy_after, 4),
            "posterior": _top(lab, after), "asked_at": clock.now().isoformat()}
        session.steps = [*session.steps, record]
        session.updated_at = clock.now()
        session.save(update_fields=["steps", "updated_at"])
        _record(session, user, lab, stage="answer", answers=[[s["code"], s["answer"]] for s in session.steps],
                posterior=after,
                explanation=f"\u201c{question.text_en}\u201d: {answer_label(question, answer)}; likelihood ratio "
                            f"{step.likelihood_ratio:.2g} for {step.leading_before} against the rest.")
    return record


def commit(session: TrainerSession, names: list[str], user: Any) -> TrainerSession:
    lab = get_lab()
    known = {p.name for p in lab.kb.pathologies}
    ranked = [n for n in (n.strip() for n in names) if n]
    if not ranked:
        raise InvalidInput("differential: choose at least one pathology")
    if len(ranked) > MAX_DIFFERENTIAL:
        raise InvalidInput(f"differential: at most {MAX_DIFFERENTIAL} pathologies")
    unknown = [n for n in ranked if n not in known]
    if unknown:
        raise InvalidInput(f"differential: unknown pathology {unknown[0]!r}")
    if len(set(ranked)) != len(ranked):
        raise InvalidInput("differential: each pathology may appear only once")
    with transaction.atomic():
        session = TrainerSession.objects.select_for_update().get(pk=session.pk)
        if session.status != TrainerSession.Status.OPEN:
            raise InvalidInput("differential: this session's differential is already committed")
        session.committed_differential = ranked
        session.status = TrainerSession.Status.COMMITTED
        session.committed_at = session.updated_at = clock.now()
        session.save(update_fields=["committed_differential", "status", "committed_at", "updated_at"])
        if model_enabled():
            result = lab.model.interview(lab.patient(session.patient_index), POLICY)
            _record(session, user, lab, stage="engine", answers=[[s.code, s.answer] for s in result.steps],
                    posterior=result.posterior,
                    explanation=f"The engine's own interview: {len(result.steps)} questions chosen by expected "
                                f"information gain, stopped ({result.stopped_because}).")
    return session


# ---- the engine as a service (API) ---------------------------------------------------------------

def predict(user: Any, *, age: int, sex: str, initial_evidence: str, answers: list[tuple[str, Any]]) -> dict[str, Any]:
    """The posterior and the next best question after some answers, recorded as an AI decision."""
    _require_enabled()
    lab = get_lab()
    if not 0 <= age <= 130:
        raise InvalidInput(f"age: must be between 0 and 130 years, got {age}")
    if sex not in ("M", "F"):
        raise InvalidInput(f"sex: must be M or F, got {sex!r}")
    if not lab.kb.has_question(initial_evidence) or lab.kb.question(initial_evidence).kind != "B":
        raise InvalidInput(f"initial_evidence: {initial_evidence!r} is not a yes/no evidence of the knowledge base")
    state = lab.model.start(age, sex, initial_evidence)
    steps = []
    for position, (code, raw) in enumerate(answers):
        try:
            answer = lab.model.parse_answer(code, raw)
            state, step = lab.model.answer(state, code, answer)
        except ValueError as error:
            raise InvalidInput(f"answers[{position}]: {error}") from None
        steps.append({"code": code, "answer": answer, "likelihood_ratio": step.likelihood_ratio,
                      "leading_before": step.leading_before, "gain_bits": round(step.gain_bits, 4)})
    posterior = lab.model.posterior(state)
    stop = lab.model.stop_reason(state, POLICY)
    code, gain = lab.model.next_question(state)
    question = lab.kb.question(code) if code else None
    top = lab.model.differential(posterior, 10)
    record = record_decision(
        model_name=MODEL_NAME, model_version=lab.version, subject=("ddx.predict", user.pk), actor=user,
        action="ddx.predict",
        inputs={"age": age, "sex": sex, "initial": initial_evidence, "answers": [[s["code"], s["answer"]] for s in steps],
                "data": lab.data_digest},
        output={"top5": [[d.name, round(d.probability, 4)] for d in top[:5]], "next": code},
        explanation=f"Naive Bayes posterior after {len(steps)} answers; next question by expected information gain"
                    f" ({gain:.3f} bits).", confidence=min(1.0, max(0.0, top[0].probability)))
    return {
        "model": MODEL_NAME, "version": lab.version, "decision_id": record.pk, "for_education_only": NOT_FOR_CARE,
        "differential": [{"pathology": d.name, "probability": d.probability, "severity": d.severity} for d in top],
        "differential_set": lab.model.differential_set(state),
        "steps": steps, "stop_reason": stop,
        "next_question": None if question is None else {
            "code": question.code, "text_en": question.text_en, "text_fr": question.text_fr,
            "kind": question.kind, "gain_bits": round(gain, 4),
            "values": [{"code": v, "en": question.value_label(v), "fr": question.value_label(v, "fr")}
                       for v in question.values]},
    }


# ---- what a page shows ---------------------------------------------------------------------------

def _posterior_rows(lab: DdxLab, top: list, ratios: dict[str, float] | None = None) -> list[dict[str, Any]]:
    rows = []
    for name, probability in top:
        pathology = lab.kb.pathology(name)
        rows.append({"name": name, "name_fr": pathology.name_fr, "probability": probability,
                     "percent": percent_text(probability), "severity": pathology.severity,
                     "ratio": lr_text(ratios.get(name)) if ratios else "—"})
    return rows


def _verdict(gain: float) -> str:
    if gain >= INFORMATIVE_BITS:
        return "informative"
    if gain >= WASTED_BITS:
        return "a little informative"
    return "wasted"


def session_view(session: TrainerSession) -> dict[str, Any]:
    """Everything the session page shows; the truth and the engine only once committed."""
    lab = get_lab()
    enabled = model_enabled()
    asked = set(session.asked_codes) | {session.initial_evidence}
    state = replay(lab, session)
    available = lab.model.available(state)
    catalog = []
    for q in lab.kb.questions:
        if q.code in asked:
            continue
        qi = lab.model.q_index[q.code]
        catalog.append({"code": q.code, "text_en": q.text_en, "text_fr": q.text_fr, "kind": q.kind,
                        "antecedent": q.is_antecedent, "available": bool(available[qi]),
                        "parent_text": lab.kb.question(q.parent).text_en if q.parent else ""})
    # Follow-ups just opened by a "yes" first, then symptoms, then history; alphabetical within each.
    catalog.sort(key=lambda row: (not row["available"], not row["parent_text"], row["antecedent"],
                                  row["text_en"].lower()))
    steps = []
    for number, step in enumerate(session.steps, start=1):
        question = lab.kb.question(step["code"])
        steps.append({**step, "number": number, "text_en": question.text_en, "text_fr": question.text_fr,
                      "answer_en": answer_label(question, step["answer"]),
                      "answer_fr": answer_label(question, step["answer"], "fr"),
                      "verdict": _verdict(step["gain_bits"]), "lr_text": lr_text(step["likelihood_ratio"])})
    last = session.steps[-1] if session.steps else None
    current = last["posterior"] if last else session.initial_posterior
    initial_q = lab.kb.question(session.initial_evidence)
    view: dict[str, Any] = {
        "session": session, "enabled": enabled, "steps": steps, "catalog": catalog,
        "initial_text_en": initial_q.text_en, "initial_text_fr": initial_q.text_fr,
        "posterior": _posterior_rows(lab, current, last["ratios"] if last else None) if enabled else [],
        "last_step": steps[-1] if steps else None,
        "pathologies": sorted(((p.name, p.name_en) for p in lab.kb.pathologies), key=lambda x: x[1].lower()),
        "max_differential": MAX_DIFFERENTIAL, "not_for_care": NOT_FOR_CARE,
        "model_name": MODEL_NAME, "model_version": lab.version,
    }
    if session.status == TrainerSession.Status.COMMITTED:
        view["comparison"] = comparison(lab, session, state) if enabled else None
    return view


def comparison(lab: DdxLab, session: TrainerSession, state: DdxState | None = None) -> dict[str, Any]:
    patient = lab.patient(session.patient_index)
    state = state or replay(lab, session)
    result = lab.model.interview(patient, POLICY)
    engine_codes = [s.code for s in result.steps]
    asked = set(session.asked_codes)
    engine_steps = []
    for step in result.steps:
        question = lab.kb.question(step.code)
        engine_steps.append({"code": step.code, "text_en": question.text_en, "answer_en": answer_label(question, step.answer),
                             "gain_bits": round(step.gain_bits, 3), "asked_by_student": step.code in asked,
                             "likelihood_ratio": step.likelihood_ratio})
    missed = []
    for step in result.steps:
        if step.code not in asked:
            question = lab.kb.question(step.code)
            missed.append({"code": step.code, "text_en": question.text_en,
                           "answer_en": answer_label(question, step.answer), "gain_bits": round(step.gain_bits, 3)})
    unelicited = []
    for code in patient.evidences:
        question = lab.kb.question(code)
        if code in asked or code == session.initial_evidence or (question.parent and question.parent not in asked):
            continue
        if patient_answer(question, patient) == question.default:
            continue  # e.g. "travelled abroad: no" is recorded but is not a finding
        unelicited.append({"code": code, "text_en": question.text_en,
                           "answer_en": answer_label(question, patient_answer(question, patient))})
    student_top = lab.model.differential(lab.model.posterior(state), 5)
    engine_top = result.differential[:5]
    truth = patient.pathology

    def rank(names: list[str]) -> int | None:
        return names.index(truth) + 1 if truth in names else None

    wasted = [s for s in session.steps if s["gain_bits"] < WASTED_BITS]
    return {
        "truth": truth, "truth_fr": lab.kb.pathology(truth).name_fr, "truth_severity": lab.kb.pathology(truth).severity,
        "committed": [{"name": n, "severity": lab.kb.pathology(n).severity, "correct": n == truth}
                      for n in session.committed_differential],
        "committed_rank": rank(session.committed_differential),
        "engine_steps": engine_steps, "engine_stopped": result.stopped_because,
        "engine_differential": _posterior_rows(lab, [[d.name, round(d.probability, 6)] for d in engine_top]),
        "engine_rank": rank([d.name for d in engine_top]),
        "student_model_differential": _posterior_rows(lab, [[d.name, round(d.probability, 6)] for d in student_top]),
        "missed": missed, "unelicited": unelicited, "n_wasted": len(wasted),
        "n_informative": sum(1 for s in session.steps if s["gain_bits"] >= INFORMATIVE_BITS),
        "n_shared": len(asked & set(engine_codes)),
        "ddxplus_differential": [{"name": n, "percent": round(100 * p, 1)} for n, p in patient.differential],
        "engine_differential_set": lab.model.differential_set(result.state),
        # can't-miss diagnoses: severe (KB severity 1-2), still plausible on the learner's own answers, not listed
        "severe_unlisted": [d.name for d in lab.model.differential(lab.model.posterior(state), 10)
                            if d.severity <= 2 and d.probability >= 0.01
                            and d.name not in session.committed_differential],
    }
