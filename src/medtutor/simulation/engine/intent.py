"""Intent classification of a student's interview question into the taxonomy labels (pure).

TF-IDF word (1-2 gram, plus lexicon concept tokens) + character (2-5 gram, word-bounded)
features and a linear SVM, trained when first used on medtutor's own labelled question set
(``data/intent_questions.jsonl``). Character n-grams make it tolerant of typos
("wen did it strat"); a small normaliser expands texting shorthand (u, r, hx, sob ...).
A keyword-rule baseline is kept beside it for the benchmark.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from .case import INTENT_LABELS
from .lexicon import is_family, is_obgyn, ros_system, social_topic
from .textmatch import americanize, fold

MODEL_NAME = "medtutor-intent-tfidf-svm"
MODEL_VERSION = "1"
DATA_PATH = Path(__file__).parent / "data" / "intent_questions.jsonl"

_SHORTHAND = {
    "u": "you", "r": "are", "ur": "your", "y": "why", "b4": "before", "hx": "history",
    "pmh": "past medical history", "psh": "past surgical history", "fmhx": "family history",
    "fhx": "family history", "sob": "shortness of breath", "sx": "symptoms", "meds": "medications",
    "etoh": "alcohol", "ivdu": "intravenous drug use", "lmp": "last menstrual period",
    "n/v": "nausea vomiting", "n/v/d": "nausea vomiting diarrhea", "nkda": "no known drug allergies",
    "wat": "what", "wht": "what", "wen": "when", "whn": "when", "hw": "how", "pls": "please",
    "plz": "please", "msk": "musculoskeletal", "neuro": "neurological", "cp": "chest pain",
    "abdo": "abdominal", "tummy": "stomach", "dx": "diagnosis", "rx": "treatment", "sti": "sexually transmitted infection",
    "stis": "sexually transmitted infections", "std": "sexually transmitted infection",
    "wt": "weight", "yrs": "years", "hrs": "hours", "mins": "minutes", "bc": "because",
    "cuz": "because", "coz": "because", "thx": "thanks", "ty": "thanks", "dr": "doctor",
}


def normalize_question(text: str) -> str:
    low = americanize(fold(text or ""))
    low = re.sub(r"[\u2018\u2019`]", "'", low)
    words = re.findall(r"[a-z0-9/']+|[?]", low)
    return " ".join(_SHORTHAND.get(w, w) for w in words)


def concept_text(text: str) -> str:
    """Normalised question plus concept tokens from the clinical lexicon, so that symptom words
    missing from the training questions still point to their review-of-systems system."""
    norm = normalize_question(text)
    extra = []
    system = ros_system(norm)
    if system:
        extra.append("zzros" + system)
    social = social_topic(norm)
    if social:
        extra.append("zzsoc" + social.replace("_", ""))
    if is_family(norm):
        extra.append("zzfamily")
    if is_obgyn(norm):
        extra.append("zzobgyn")
    return norm + (" " + " ".join(extra) if extra else "")


@dataclass(frozen=True)
class IntentPrediction:
    label: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class LabelledQuestion:
    question: str
    intent: str


def load_labelled(path: str | Path | None = None) -> list[LabelledQuestion]:
    """Read ``{"question", "intent"}`` JSON lines; raises ValueError naming the bad line."""
    p = Path(path) if path is not None else DATA_PATH
    out: list[LabelledQuestion] = []
    for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {i}: invalid JSON ({exc.msg})") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("question"), str):
            raise ValueError(f"line {i}: needs a string 'question'")
        intent = rec.get("intent")
        if intent not in INTENT_LABELS:
            raise ValueError(f"line {i}: unknown intent {intent!r}")
        out.append(LabelledQuestion(rec["question"], str(intent)))
    return out


class IntentClassifier:
    """TF-IDF (word + concept tokens, char n-grams) linear SVM over the taxonomy labels.

    Confidence is a softmax over the SVM margins (temperature 0.25): a ranking signal, not a
    calibrated probability.
    """

    def __init__(self, C: float = 0.5, temperature: float = 0.25):
        self.C = C
        self.temperature = temperature
        self._pipe = None

    def fit(self, questions: Sequence[str], labels: Sequence[str]) -> "IntentClassifier":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion, make_pipeline
        from sklearn.svm import LinearSVC

        features = FeatureUnion([
            ("word", TfidfVectorizer(preprocessor=concept_text, ngram_range=(1, 2),
                                     sublinear_tf=True, token_pattern=r"[a-z0-9']+|\?")),
            ("char", TfidfVectorizer(preprocessor=normalize_question, analyzer="char_wb",
                                     ngram_range=(2, 5), sublinear_tf=True)),
        ])
        self._pipe = make_pipeline(features, LinearSVC(C=self.C))
        self._pipe.fit(list(questions), [str(x) for x in labels])
        self._compile()
        return self

    def _compile(self) -> None:
        """Pull vocabularies, idf and weights out of the fitted pipeline so one question is
        scored in plain Python + numpy (sklearn's per-call overhead is ~20 ms)."""
        assert self._pipe is not None
        union, svm = self._pipe.steps[0][1], self._pipe.steps[1][1]
        self._blocks = []
        offset = 0
        for _name, vec in union.transformer_list:
            self._blocks.append((vec.build_analyzer(), vec.vocabulary_, vec.idf_, offset))
            offset += len(vec.vocabulary_)
        self._coef_t = svm.coef_.T.copy()          # (features, classes)
        self._intercept = svm.intercept_.copy()
        self._classes = [str(c) for c in svm.classes_]

    def _margins(self, text: str):
        import math

        import numpy as np

        margins = self._intercept.copy()
        for analyzer, vocab, idf, offset in self._blocks:
            counts: dict[int, int] = {}
            for gram in analyzer(text):
                j = vocab.get(gram)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            idx = np.fromiter(counts.keys(), dtype=np.int64)
            vals = np.array([(1.0 + math.log(c)) * idf[j] for j, c in counts.items()])
            vals /= np.linalg.norm(vals)
            margins += vals @ self._coef_t[idx + offset]
        return margins

    def predict_many(self, questions: Sequence[str]) -> list[IntentPrediction]:
        import numpy as np

        if self._pipe is None:
            raise RuntimeError("classifier is not trained")
        texts = [q if (q or "").strip() else "?" for q in questions]
        margins = np.array([self._margins(t) for t in texts])
        classes = self._classes
        out = []
        for row in margins:
            z = (row - row.max()) / self.temperature
            probs = np.exp(z) / np.exp(z).sum()
            order = np.argsort(-probs)[:3]
            alts = tuple((classes[j], float(probs[j])) for j in order)
            out.append(IntentPrediction(alts[0][0], alts[0][1], alts))
        return out

    def predict(self, question: str) -> IntentPrediction:
        return self.predict_many([question])[0]


@lru_cache(maxsize=1)
def default_classifier() -> IntentClassifier:
    data = load_labelled()
    return IntentClassifier().fit([d.question for d in data], [d.intent for d in data])


def classify(question: str) -> IntentPrediction:
    """Intent of one question; empty or unintelligible text gives ``other``."""
    if not re.search(r"[A-Za-z]", question or ""):
        return IntentPrediction("other", 1.0)
    return default_classifier().predict(question[:1000])


# ---------------------------------------------------------------------------------------------
# Baseline: keyword rules (for the benchmark)

_RULES: tuple[tuple[str, str], ...] = (
    ("greeting", r"^(?:hi|hello|hey|good (?:morning|afternoon|evening)|morning)\b"),
    ("allergies", r"allerg"), ("smoking", r"smok|cigar|tobacco|vape"),
    ("alcohol", r"alcohol|drink|beer|wine"), ("recreational_drugs", r"drug|cocaine|cannabis|weed|heroin"),
    ("medications", r"medic|tablet|pill|meds"), ("surgical_history", r"operat|surger"),
    ("family_history", r"family|mother|father|parent"), ("travel", r"travel|abroad|trip"),
    ("sexual_history", r"sexual|condom|partner"), ("occupation", r"work|job|occupation"),
    ("living_situation", r"live|married|home"), ("diet_exercise", r"diet|exercise|eat"),
    ("obstetric_gynecologic", r"period|pregnan|menstrua"),
    ("onset", r"when did|start|begin"), ("duration", r"how long"), ("location", r"where"),
    ("character", r"describe|feel like|sharp|dull"), ("radiation", r"radiat|spread|anywhere else"),
    ("severity", r"how bad|scale|severe"), ("timing", r"come and go|constant|often"),
    ("aggravating", r"worse"), ("relieving", r"better|help|relie"),
    ("prior_episodes", r"before|previous"), ("past_medical_history", r"medical|condition|illness"),
    ("ros_constitutional", r"fever|weight|sweat"), ("ros_cardiovascular", r"chest pain|palpitat"),
    ("ros_respiratory", r"cough|breath|wheez"), ("ros_gastrointestinal", r"vomit|bowel|stool|nause"),
    ("ros_genitourinary", r"urine|pee|urinat"), ("ros_neurologic", r"headache|dizz|numb|weak"),
    ("ros_musculoskeletal", r"joint|back pain|muscle"), ("ros_skin", r"rash|itch|skin"),
    ("ros_psychiatric", r"mood|sleep|anxious|depress"),
    ("ideas_concerns_expectations", r"worr|think it|concern|expect"),
    ("chief_complaint", r"brings you|problem|matter"),
)


class KeywordBaseline:
    """First matching keyword rule, else ``other`` — the benchmark's same-run baseline."""

    def fit(self, questions: Iterable[str], labels: Iterable[str]) -> "KeywordBaseline":
        return self

    def predict(self, question: str) -> IntentPrediction:
        low = normalize_question(question)
        for label, pattern in _RULES:
            if re.search(pattern, low):
                return IntentPrediction(label, 1.0)
        return IntentPrediction("other", 1.0)

    def predict_many(self, questions: Sequence[str]) -> list[IntentPrediction]:
        return [self.predict(q) for q in questions]


def cross_validate(data: Sequence[LabelledQuestion], folds: int = 5, seed: int = 0,
                   make=IntentClassifier) -> tuple[float, list[tuple[str, str]]]:
    """Stratified k-fold accuracy; returns (accuracy, [(true, predicted)])."""
    from sklearn.model_selection import StratifiedKFold

    labels = [d.intent for d in data]
    questions = [d.question for d in data]
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    pairs: list[tuple[str, str]] = []
    for train, test in skf.split(questions, labels):
        model = make().fit([questions[i] for i in train], [labels[i] for i in train])
        preds = model.predict_many([questions[i] for i in test])
        pairs.extend((labels[i], p.label) for i, p in zip(test, preds))
    acc = sum(t == p for t, p in pairs) / len(pairs) if pairs else 0.0
    return acc, pairs


def confusion_summary(pairs: Sequence[tuple[str, str]], top: int = 10) -> list[tuple[str, str, int]]:
    """Most frequent (true, predicted, count) confusions."""
    counts: dict[tuple[str, str], int] = {}
    for t, p in pairs:
        if t != p:
            counts[(t, p)] = counts.get((t, p), 0) + 1
    return [(t, p, n) for (t, p), n in sorted(counts.items(), key=lambda kv: -kv[1])[:top]]
