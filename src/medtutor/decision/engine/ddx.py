"""Differential diagnosis by asking the most informative next question (naive Bayes + information gain).

The model: a prior over pathologies by age band and sex, the likelihood of the opening complaint
given each pathology, and for every question (evidence) a categorical likelihood of its answer given
each pathology. Follow-up questions (e.g. "where is the pain?") are modelled given their parent is
positive and are only asked then. Likelihoods are learned from training patients, smoothed towards
a backoff that uses the knowledge base as structure: an evidence the KB does not list for a
pathology is almost never present in it; one it lists gets the answer distribution pooled over the
pathologies that list it. Severity (1 = most severe) comes from the KB and is reported with the
differential so a severe diagnosis is not overlooked.

Question choice: the expected information gain (mutual information between the answer and the
pathology under the current posterior), I(C; O_q) = H(O_q) - sum_c p(c) H(O_q | c), computed for all
questions at once with numpy. Stop when the top pathology is confident enough, when no question
is expected to teach anything, or at the question limit.

Pure: no Django. A fitted model saves to `<stem>.npz` (arrays) + `<stem>.json` (vocabulary, metadata).
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from medtutor.decision.engine.ddx_data import KnowledgeBase, Patient, Question

MODEL_NAME = "ddx-naive-bayes"
MODEL_VERSION = "1.0"
OTHER = "__other__"  # a multi-choice answer combination not among the ones learned
AGE_BANDS = (1, 5, 15, 30, 45, 60, 75)  # upper bounds (exclusive) of the age bands; the last band is 75+
SEXES = ("M", "F")


def age_band(age: int) -> int:
    for index, bound in enumerate(AGE_BANDS):
        if age < bound:
            return index
    return len(AGE_BANDS)


def combo_key(values: frozenset[str] | set[str] | Sequence[str]) -> str:
    return "|".join(sorted(values))


@dataclass(frozen=True)
class FitSettings:
    alpha: float = 2.0  # pseudo-patients of the backoff distribution in each likelihood
    absent_rate: float = 2e-3  # P(non-default answer) for an evidence the KB does not list
    prior_strength: float = 20.0  # pseudo-patients of the overall prior in each age/sex prior
    max_combos: int = 40  # multi-choice answers kept as their own outcome; the rest are OTHER


@dataclass(frozen=True)
class StopPolicy:
    confidence: float = 0.999  # stop when the top pathology reaches this posterior (naive Bayes is overconfident)
    max_questions: int = 20
    min_gain: float = 1e-3  # bits: stop when no question is expected to teach more


@dataclass(frozen=True)
class RankedDiagnosis:
    name: str
    probability: float
    severity: int


@dataclass
class DdxState:
    """The interview so far. `answers` keeps the order questions were answered in."""

    age: int
    sex: str
    initial_evidence: str
    log_post: np.ndarray
    answers: dict[str, str] = field(default_factory=dict)
    implied: set[str] = field(default_factory=set)  # follow-ups made moot by a negative parent

    @property
    def asked(self) -> list[str]:
        return [code for code in self.answers if code != self.initial_evidence]


@dataclass(frozen=True)
class AnswerStep:
    code: str
    answer: str
    gain_bits: float  # expected information gain of the question just before it was asked
    entropy_before: float
    entropy_after: float
    leading_before: str
    likelihood_ratio: float  # of this answer, for the leading pathology before it vs the others
    likelihood_ratios: dict[str, float]  # of this answer, per pathology, vs the rest (weighted by the prior posterior)


@dataclass(frozen=True)
class InterviewResult:
    steps: tuple[AnswerStep, ...]
    differential: tuple[RankedDiagnosis, ...]
    posterior: np.ndarray
    stopped_because: str
    state: DdxState


def model_file(stem: Path, suffix: str) -> Path:
    """`<stem>.npz` / `<stem>.json`; not Path.with_suffix, which would cut a stem like "ddx-1.0-ab12" at its dot."""
    stem = Path(stem)
    return stem.with_name(stem.name + suffix)


def entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


class DdxModel:
    """A fitted naive-Bayes differential-diagnosis model over one knowledge base."""

    def __init__(self, *, kb: KnowledgeBase, classes: list[str], outcomes: list[list[str]],
                 log_prior: np.ndarray, init_lik: np.ndarray, lik: np.ndarray, meta: dict,
                 differential_arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
        self.kb = kb
        self.classes = list(classes)
        self.class_index = {name: i for i, name in enumerate(self.classes)}
        self.questions: list[Question] = list(kb.questions)
        self.q_index = {q.code: i for i, q in enumerate(self.questions)}
        self.outcomes = [list(o) for o in outcomes]
        self.outcome_index = [{key: j for j, key in enumerate(o)} for o in self.outcomes]
        sizes = np.array([len(o) for o in self.outcomes])
        self.q_start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.q_of_outcome = np.repeat(np.arange(len(sizes)), sizes)
        self.log_prior = log_prior  # (bands, sexes, C)
        self.init_lik = init_lik  # (C, Q): P(opening complaint = q | c)
        self.lik = lik  # (C, T): P(answer | c), each question's block sums to 1 per class
        self.log_lik = np.log(lik)
        self.log_init = np.log(init_lik)
        # sum_o L log L per class and question: minus the answer entropy given the pathology.
        self._neg_cond_entropy = np.add.reduceat(lik * self.log_lik, self.q_start, axis=1)  # (C, Q)
        self.severity = np.array([kb.pathology(c).severity for c in self.classes])
        self.parent_index = np.array([self.q_index.get(q.parent, -1) if q.parent else -1 for q in self.questions])
        self.children: dict[str, list[str]] = defaultdict(list)
        for q in self.questions:
            if q.parent:
                self.children[q.parent].append(q.code)
        self.meta = dict(meta)
        # (log prior, opening likelihood, answer likelihoods) of the differential model, if fitted
        self.differential_arrays = differential_arrays

    # ---- fitting -------------------------------------------------------------------------------

    @classmethod
    def fit(cls, kb: KnowledgeBase, patients: Sequence[Patient], settings: FitSettings = FitSettings(),
            meta: dict | None = None, *, differential_model: bool = True) -> DdxModel:
        """Fit on patients. With `differential_model`, a second set of likelihoods is fitted with each
        patient counted for every pathology of its DIFFERENTIAL_DIAGNOSIS (weighted by its probability):
        its posterior estimates the differential, while the main model ranks the true pathology."""
        if not patients:
            raise ValueError("cannot fit a differential-diagnosis model on no patients")
        classes = [p.name for p in kb.pathologies]
        c_index = {c: i for i, c in enumerate(classes)}
        questions = list(kb.questions)

        # Outcome vocabulary per question.
        outcomes: list[list[str]] = []
        for q in questions:
            if q.kind == "B":
                outcomes.append(["0", "1"])
            elif q.kind == "C":
                values = list(q.values) if q.values else [q.default]
                if q.default not in values:
                    values.insert(0, q.default)
                outcomes.append(values)
            else:
                seen = Counter(combo_key(p.evidences[q.code]) for p in patients  # type: ignore[arg-type]
                               if q.code in p.evidences)
                keep = [k for k, _ in seen.most_common(settings.max_combos) if k != q.default]
                outcomes.append([q.default, *keep, OTHER])

        answers, eligible = _answer_matrix(questions, outcomes, patients)
        hard = np.zeros((len(patients), len(classes)))
        hard[np.arange(len(patients)), [c_index[p.pathology] for p in patients]] = 1.0
        arrays = _fit_arrays(kb, classes, questions, outcomes, patients, answers, eligible, hard, settings)
        soft_arrays = None
        if differential_model:
            soft = np.zeros_like(hard)
            for i, p in enumerate(patients):
                for name, probability in p.differential:
                    if name in c_index:
                        soft[i, c_index[name]] += probability
                total = soft[i].sum()
                soft[i] = soft[i] / total if total > 0 else hard[i]
            soft_arrays = _fit_arrays(kb, classes, questions, outcomes, patients, answers, eligible, soft, settings)
        info = {"model": MODEL_NAME, "version": MODEL_VERSION, "n_train": len(patients),
                "kb_digest": kb.digest, "settings": settings.__dict__, **(meta or {})}
        return cls(kb=kb, classes=classes, outcomes=outcomes, log_prior=arrays[0], init_lik=arrays[1],
                   lik=arrays[2], meta=info, differential_arrays=soft_arrays)

    # ---- persistence ---------------------------------------------------------------------------

    def save(self, stem: Path) -> None:
        stem = Path(stem)
        stem.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"log_prior": self.log_prior, "init_lik": self.init_lik, "lik": self.lik}
        if self.differential_arrays is not None:
            arrays.update(ddx_log_prior=self.differential_arrays[0], ddx_init_lik=self.differential_arrays[1],
                          ddx_lik=self.differential_arrays[2])
        # Unique temporary names, then atomic renames: processes fitting at once never see half a file.
        unique = f".{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
        tmp_npz = stem.with_name(stem.name + unique + ".npz")
        np.savez_compressed(tmp_npz, **arrays)
        tmp_json = stem.with_name(stem.name + unique + ".json")
        tmp_json.write_text(json.dumps({"classes": self.classes, "questions": [q.code for q in self.questions],
                                        "outcomes": self.outcomes, "meta": self.meta}), encoding="utf-8")
        tmp_npz.replace(model_file(stem, ".npz"))
        tmp_json.replace(model_file(stem, ".json"))

    @classmethod
    def load(cls, stem: Path, kb: KnowledgeBase) -> DdxModel:
        stem = Path(stem)
        info = json.loads(model_file(stem, ".json").read_text(encoding="utf-8"))
        if info["questions"] != [q.code for q in kb.questions]:
            raise ValueError("the saved model was fitted on another knowledge base")
        with np.load(model_file(stem, ".npz")) as arrays:
            soft = None
            if "ddx_lik" in arrays:
                soft = (arrays["ddx_log_prior"], arrays["ddx_init_lik"], arrays["ddx_lik"])
            return cls(kb=kb, classes=info["classes"], outcomes=info["outcomes"], log_prior=arrays["log_prior"],
                       init_lik=arrays["init_lik"], lik=arrays["lik"], meta=info["meta"], differential_arrays=soft)

    # ---- the interview -------------------------------------------------------------------------

    def start(self, age: int, sex: str, initial_evidence: str) -> DdxState:
        if sex not in SEXES:
            raise ValueError(f"sex must be M or F, got {sex!r}")
        if initial_evidence not in self.q_index:
            raise ValueError(f"unknown initial evidence {initial_evidence!r}")
        if not 0 <= age <= 130:
            raise ValueError(f"age must be between 0 and 130, got {age}")
        log_post = self.log_prior[age_band(age), SEXES.index(sex)] + self.log_init[:, self.q_index[initial_evidence]]
        state = DdxState(age, sex, initial_evidence, log_post - _logsumexp(log_post))
        question = self.questions[self.q_index[initial_evidence]]
        state.answers[initial_evidence] = "1" if question.kind == "B" else question.default
        return state

    def posterior(self, state: DdxState) -> np.ndarray:
        p = np.exp(state.log_post - state.log_post.max())
        return p / p.sum()

    def available(self, state: DdxState) -> np.ndarray:
        """Questions that may be asked now: not answered, and any parent answered positive."""
        mask = np.ones(len(self.questions), dtype=bool)
        for code in state.answers:
            mask[self.q_index[code]] = False
        for code in state.implied:
            mask[self.q_index[code]] = False
        has_parent = self.parent_index >= 0
        parent_ok = np.zeros(len(self.questions), dtype=bool)
        for code, answer in state.answers.items():
            if answer != self.questions[self.q_index[code]].default:
                parent_ok |= self.parent_index == self.q_index[code]
        return mask & (~has_parent | parent_ok)

    def information_gains(self, state: DdxState, posterior: np.ndarray | None = None) -> np.ndarray:
        """Expected information gain (bits) of each question; NaN for questions not available."""
        post = self.posterior(state) if posterior is None else posterior
        p_out = post @ self.lik  # (T,)
        h_out = -np.add.reduceat(p_out * np.log(np.clip(p_out, 1e-300, None)), self.q_start)
        gains = np.clip((h_out + post @ self._neg_cond_entropy) / math.log(2), 0.0, None)
        gains[~self.available(state)] = np.nan
        return gains

    def next_question(self, state: DdxState) -> tuple[str | None, float]:
        gains = self.information_gains(state)
        if np.all(np.isnan(gains)):
            return None, 0.0
        best = int(np.nanargmax(gains))
        return self.questions[best].code, float(gains[best])

    def parse_answer(self, code: str, raw: object) -> str:
        """A user's answer as an outcome key: yes/no (or 1/0) for binary questions, a value code or a
        scale number for categorical ones, a list of value codes for multi-choice ones."""
        if code not in self.q_index:
            raise ValueError(f"unknown question {code!r}")
        question = self.questions[self.q_index[code]]
        if question.kind == "B":
            text = str(raw).strip().lower()
            if raw is True or text in ("1", "yes", "true", "y"):
                return "1"
            if raw is False or text in ("0", "no", "false", "n"):
                return "0"
            raise ValueError(f"{code} is a yes/no question: answer yes or no")
        values = [str(v) for v in raw] if isinstance(raw, (list, tuple, set, frozenset)) else str(raw).split("|")
        unknown = [v for v in values if v not in question.values]
        if unknown or not values:
            shown = ", ".join(question.values[:12]) + (", ..." if len(question.values) > 12 else "")
            raise ValueError(f"{unknown[0] if unknown else '(empty)'!r} is not an answer to {code}; one of {shown}")
        if question.kind == "C":
            if len(values) != 1:
                raise ValueError(f"{code} takes one value")
            return values[0]
        return combo_key(values)

    def outcome_of(self, code: str, answer: str) -> int:
        index = self.outcome_index[self.q_index[code]]
        if answer in index:
            return int(self.q_start[self.q_index[code]] + index[answer])
        if OTHER in index:
            return int(self.q_start[self.q_index[code]] + index[OTHER])
        raise ValueError(f"{answer!r} is not an answer to {code}")

    def answer(self, state: DdxState, code: str, answer: str) -> tuple[DdxState, AnswerStep]:
        """Update the posterior with one answer; returns the new state and what the answer did."""
        if code not in self.q_index:
            raise ValueError(f"unknown question {code!r}")
        if code in state.answers or code in state.implied:
            raise ValueError(f"{code} was already answered")
        qi = self.q_index[code]
        if not self.available(state)[qi]:
            raise ValueError(f"{code} is a follow-up: ask {self.questions[qi].parent} first")
        question = self.questions[qi]
        if question.kind == "B" and answer not in ("0", "1"):
            raise ValueError(f"answer to {code} must be 0 or 1")
        post = self.posterior(state)
        return self._update(state, code, answer, post, float(self.information_gains(state, post)[qi]))

    def _update(self, state: DdxState, code: str, answer: str, post: np.ndarray,
                gain: float) -> tuple[DdxState, AnswerStep]:
        question = self.questions[self.q_index[code]]
        column = self.outcome_of(code, answer)
        likelihood = self.lik[:, column]
        leading = int(np.argmax(post))
        ratios = _likelihood_ratios(post, likelihood)
        log_post = state.log_post + self.log_lik[:, column]
        log_post = log_post - _logsumexp(log_post)
        new = replace(state, log_post=log_post, answers={**state.answers, code: answer}, implied=set(state.implied))
        if answer == question.default:
            new.implied |= self._descendants(code)
        after = self.posterior(new)
        step = AnswerStep(code=code, answer=answer, gain_bits=gain, entropy_before=entropy_bits(post),
                          entropy_after=entropy_bits(after), leading_before=self.classes[leading],
                          likelihood_ratio=float(ratios[leading]),
                          likelihood_ratios={self.classes[i]: float(ratios[i]) for i in np.argsort(-post)[:10]})
        return new, step

    def _descendants(self, code: str) -> set[str]:
        result: set[str] = set()
        stack = list(self.children.get(code, ()))
        while stack:
            child = stack.pop()
            if child not in result:
                result.add(child)
                stack.extend(self.children.get(child, ()))
        return result

    def stop_reason(self, state: DdxState, policy: StopPolicy) -> str | None:
        post = self.posterior(state)
        if post.max() >= policy.confidence:
            return "confident"
        if len(state.asked) >= policy.max_questions:
            return "question limit"
        code, gain = self.next_question(state)
        if code is None or gain < policy.min_gain:
            return "nothing left to learn"
        return None

    def differential_set(self, state_or_posterior: DdxState | np.ndarray) -> list[str]:
        """The pathologies worth keeping on a differential: the differential model's posterior (given a
        state; or a posterior passed in) at or above a cut, after tempering p^(1/T); T and the cut are
        chosen on training patients (`tune_differential_rule`)."""
        posterior = (self.differential_posterior(state_or_posterior) if isinstance(state_or_posterior, DdxState)
                     else state_or_posterior)
        temperature = float(self.meta.get("ddx_temperature", 1.0))
        cut = float(self.meta.get("ddx_cut", 0.1))
        tempered = np.exp(np.log(np.clip(posterior, 1e-300, None)) / temperature)
        tempered /= tempered.sum()
        order = np.argsort(-tempered, kind="stable")
        return [self.classes[i] for i in order if tempered[i] >= cut] or [self.classes[order[0]]]

    def differential(self, state_or_posterior: DdxState | np.ndarray, k: int = 10) -> tuple[RankedDiagnosis, ...]:
        post = self.posterior(state_or_posterior) if isinstance(state_or_posterior, DdxState) else state_or_posterior
        order = np.argsort(-post, kind="stable")[:k]
        return tuple(RankedDiagnosis(self.classes[i], float(post[i]), int(self.severity[i])) for i in order)

    def interview(self, patient: Patient, policy: StopPolicy = StopPolicy()) -> InterviewResult:
        """Run the engine on a patient, the patient answering from its record (same rule as `stop_reason`)."""
        state = self.start(patient.age, patient.sex, patient.initial_evidence)
        steps = []
        while True:
            post = self.posterior(state)
            if post.max() >= policy.confidence:
                reason = "confident"
                break
            if len(state.asked) >= policy.max_questions:
                reason = "question limit"
                break
            gains = self.information_gains(state, post)
            if np.all(np.isnan(gains)) or np.nanmax(gains) < policy.min_gain:
                reason = "nothing left to learn"
                break
            best = int(np.nanargmax(gains))
            question = self.questions[best]
            state, step = self._update(state, question.code, patient_answer(question, patient), post, float(gains[best]))
            steps.append(step)
        post = self.posterior(state)
        return InterviewResult(tuple(steps), self.differential(post), post, reason, state)

    def _posterior_from_answers(self, arrays: tuple[np.ndarray, np.ndarray, np.ndarray], age: int, sex: str,
                                initial_evidence: str, answers: dict[str, str]) -> np.ndarray:
        log_prior, init_lik, lik = arrays
        log_post = log_prior[age_band(age), SEXES.index(sex)] + np.log(init_lik[:, self.q_index[initial_evidence]])
        for code, answer in answers.items():
            if code != initial_evidence:
                log_post = log_post + np.log(lik[:, self.outcome_of(code, answer)])
        p = np.exp(log_post - log_post.max())
        return p / p.sum()

    def differential_posterior(self, state: DdxState) -> np.ndarray:
        """The differential model's posterior given the same answers (the main posterior if none was fitted)."""
        if self.differential_arrays is None:
            return self.posterior(state)
        return self._posterior_from_answers(self.differential_arrays, state.age, state.sex, state.initial_evidence,
                                            state.answers)

    def full_information_posterior(self, patient: Patient, *, differential: bool = False) -> np.ndarray:
        """The posterior given every evidence of the patient at once (the full-information ceiling)."""
        answers = {}
        for q in self.questions:
            if q.parent and q.parent in self.q_index and q.parent not in patient.evidences:
                continue  # a follow-up of a negative parent carries no information of its own
            answers[q.code] = patient_answer(q, patient)
        arrays = (self.log_prior, self.init_lik, self.lik)
        if differential and self.differential_arrays is not None:
            arrays = self.differential_arrays
        return self._posterior_from_answers(arrays, patient.age, patient.sex, patient.initial_evidence, answers)


def differential_scores(predicted: Sequence[str], truth: Sequence[str]) -> tuple[float, float, float]:
    """Precision, recall and F1 of a predicted differential against a patient's DIFFERENTIAL_DIAGNOSIS."""
    hits = len(set(predicted) & set(truth))
    precision = hits / len(set(predicted)) if predicted else 0.0
    recall = hits / len(set(truth)) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def tune_differential_rule(model: DdxModel, patients: Sequence[Patient], policy: StopPolicy = StopPolicy(),
                           temperatures: Sequence[float] = (1, 2, 4),
                           cuts: Sequence[float] = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3)) -> tuple[float, float, float]:
    """Choose the temperature and cut of `differential_set` that maximise mean DDx F1 on (training) patients."""
    posteriors = [model.differential_posterior(model.interview(p, policy).state) for p in patients]
    truths = [[name for name, _ in p.differential] for p in patients]
    best = (-1.0, 1.0, 0.1)
    for temperature in temperatures:
        for cut in cuts:
            model.meta.update(ddx_temperature=float(temperature), ddx_cut=float(cut))
            f1 = float(np.mean([differential_scores(model.differential_set(post), truth)[2]
                                for post, truth in zip(posteriors, truths, strict=True)]))
            if f1 > best[0]:
                best = (f1, float(temperature), float(cut))
    model.meta.update(ddx_temperature=best[1], ddx_cut=best[2])
    return best


def patient_answer(question: Question, patient: Patient) -> str:
    """The answer a patient gives, read from its record (the default when it does not report the evidence)."""
    value = patient.evidences.get(question.code)
    if value is None:
        return question.default
    if question.kind == "B":
        return "1"
    if question.kind == "M":
        return combo_key(value)  # type: ignore[arg-type]
    return str(value)


def _answer_matrix(questions: list[Question], outcomes: list[list[str]],
                   patients: Sequence[Patient]) -> tuple[np.ndarray, np.ndarray]:
    """Each patient's answer (outcome index) to every question, and whether the question applies
    (a follow-up applies only where its parent is positive)."""
    q_index = {q.code: i for i, q in enumerate(questions)}
    index = [{k: j for j, k in enumerate(o)} for o in outcomes]
    defaults = np.array([index[i].get(q.default, 0) for i, q in enumerate(questions)])
    answers = np.tile(defaults, (len(patients), 1))
    for row, p in enumerate(patients):
        for code in p.evidences:
            qi = q_index[code]
            key = patient_answer(questions[qi], p)
            answers[row, qi] = index[qi].get(key, index[qi].get(OTHER, defaults[qi]))
    eligible = np.ones_like(answers, dtype=bool)
    for qi, q in enumerate(questions):
        if q.parent and q.parent in q_index:
            parent = q_index[q.parent]
            eligible[:, qi] = answers[:, parent] != defaults[parent]
    return answers, eligible


def _fit_arrays(kb: KnowledgeBase, classes: list[str], questions: list[Question], outcomes: list[list[str]],
                patients: Sequence[Patient], answers: np.ndarray, eligible: np.ndarray, weights: np.ndarray,
                settings: FitSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log prior (bands, sexes, C), opening-complaint likelihood (C, Q) and answer likelihoods (C, T)
    from patients weighted per pathology (one-hot for the true pathology, or its differential)."""
    n_classes = len(classes)
    lik_blocks = []
    for qi, q in enumerate(questions):
        n_out = len(outcomes[qi])
        rows = eligible[:, qi]
        counts_t = np.zeros((n_out, n_classes))
        np.add.at(counts_t, answers[rows, qi], weights[rows])
        counts = counts_t.T
        n_eligible = weights[rows].sum(0)
        listed = np.array([q.code in kb.pathology(c).evidences for c in classes])
        pooled = counts[listed].sum(0) + 0.5  # pooled over the pathologies the KB links to this evidence
        pooled /= pooled.sum()
        default_j = outcomes[qi].index(q.default) if q.default in outcomes[qi] else 0
        absent = np.full(n_out, settings.absent_rate / max(n_out - 1, 1))
        absent[default_j] = 1.0 - settings.absent_rate
        base = np.where(listed[:, None], pooled[None, :], absent[None, :])
        lik_blocks.append((counts + settings.alpha * base) / (n_eligible[:, None] + settings.alpha))
    lik = np.concatenate(lik_blocks, axis=1)

    # Opening complaint | pathology, backed off to the pathology's KB symptoms.
    q_index = {q.code: i for i, q in enumerate(questions)}
    opening = np.array([q_index[p.initial_evidence] for p in patients])
    init_counts_t = np.zeros((len(questions), n_classes))
    np.add.at(init_counts_t, opening, weights)
    can_open = np.zeros(len(questions), dtype=bool)
    can_open[opening] = True
    init_base = np.full((n_classes, len(questions)), 1e-4)
    for ci, c in enumerate(classes):
        symptoms = [q_index[e] for e in kb.pathology(c).symptoms if e in q_index and questions[q_index[e]].kind == "B"]
        init_base[ci, symptoms] += 1.0
        init_base[ci, can_open] += 0.5 * init_base[ci, can_open]
    init_base /= init_base.sum(1, keepdims=True)
    n_c = weights.sum(0)
    init_lik = (init_counts_t.T + settings.alpha * init_base) / (n_c[:, None] + settings.alpha)

    # Priors by age band and sex, shrunk towards the overall prior.
    overall = (n_c + 0.5) / (n_c.sum() + 0.5 * n_classes)
    table = np.zeros((len(AGE_BANDS) + 1, 2, n_classes))
    np.add.at(table, ([age_band(p.age) for p in patients], [SEXES.index(p.sex) for p in patients]), weights)
    denominator = table.sum(2, keepdims=True) + settings.prior_strength
    prior = np.where(denominator > 0, (table + settings.prior_strength * overall) / np.maximum(denominator, 1e-12),
                     overall)  # an age/sex cell without patients gets the overall prior
    return np.log(prior), init_lik, lik

def _likelihood_ratios(post: np.ndarray, likelihood: np.ndarray) -> np.ndarray:
    """P(answer | c) / P(answer | not c), the second weighted by the current posterior of the others."""
    rest = (post @ likelihood - post * likelihood) / np.clip(1.0 - post, 1e-12, None)
    return likelihood / np.clip(rest, 1e-300, None)


def _logsumexp(x: np.ndarray) -> float:
    m = float(x.max())
    return m + math.log(float(np.exp(x - m).sum()))
