"""ConText-style negation, hedging and experiencer detection for case text (pure, rule-based).

Follows the ConText idea (Harkema et al., J Biomed Inform 2009;42:839-51; NegEx, Chapman et al.
2001): trigger phrases open a scope that runs forwards (pre-triggers) or backwards
(post-triggers) until a termination term, a clause boundary or a word limit; pseudo-triggers
("no change", "not only") are skipped. Trigger lists are medtutor's own, sized for patient
histories rather than radiology reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .textmatch import fold

SCOPE_WORDS = 8

PRE_NEGATION = (
    "no", "not", "denies", "denied", "deny", "denying", "without", "never", "negative for",
    "free of", "absence of", "absent", "no evidence of", "no history of", "no signs of",
    "no sign of", "no complaints of", "rules out", "ruled out", "non", "nor", "neither",
    "none", "hasn't", "haven't", "hadn't", "doesn't", "don't", "didn't", "isn't", "wasn't",
    "aren't", "cannot", "can't", "unremarkable for", "resolved", "nil",
)
POST_NEGATION = (
    "is absent", "are absent", "was absent", "were absent", "is negative", "are negative",
    "was negative", "were negative", "was ruled out", "were ruled out", "is ruled out",
    "not present", "unlikely", "free", "denied", "none",
)
PSEUDO = (
    "no change", "no increase", "not only", "no further", "not certain whether", "not necessarily",
    "without difficulty", "no longer", "not cause", "not drain", "gram negative", "no improvement",
    "not improved", "not relieved", "not respond", "no relief", "non-tender", "not always",
    "not regularly", "not fully", "not completely", "not very", "not much better",
)
HEDGES = (
    "possible", "possibly", "perhaps", "maybe", "may", "might", "could", "suspected", "suspect",
    "suspicious for", "likely", "probably", "probable", "questionable", "question of", "unclear",
    "uncertain", "not sure", "unsure", "i think", "i guess", "borderline",
    "equivocal", "cannot exclude", "can't rule out", "rule out", "r/o", "?", "vs",
)
FAMILY = ("mother", "father", "brother", "sister", "aunt", "uncle", "grandmother", "grandfather",
          "cousin", "son", "daughter", "parents", "sibling", "family history", "mum", "dad")
TERMINATION = ("but", "however", "although", "though", "except", "apart from", "aside from",
               "which", "who", "whereas", "yet", "still", "other than", "besides", "although")


def _compile(phrases: tuple[str, ...]) -> re.Pattern[str]:
    alts = sorted((re.escape(p) for p in phrases), key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alts) + r")(?![a-z0-9])")


_PRE = _compile(PRE_NEGATION)
_POST = _compile(POST_NEGATION)
_PSEUDO = _compile(PSEUDO)
_HEDGE = _compile(HEDGES)
_FAMILY = _compile(FAMILY)
_TERM = _compile(TERMINATION)
_BOUNDARY = re.compile(r"[.;:!?]|,\s*(?=(?:but|however|although|and (?:has|have|had|is|was|reports|"
                       r"notes)|she|he|i)\b)")


@dataclass(frozen=True)
class Assertion:
    """How a statement (or a term inside it) is asserted."""

    negated: bool = False
    uncertain: bool = False
    family: bool = False
    trigger: str = ""


def _clauses(text: str) -> list[tuple[int, str]]:
    out, start = [], 0
    for m in _BOUNDARY.finditer(text):
        out.append((start, text[start : m.start()]))
        start = m.end()
    out.append((start, text[start:]))
    return [(s, c) for s, c in out if c.strip()]


def _masked(clause: str) -> str:
    """Blank out pseudo-triggers so they do not fire as triggers."""
    return _PSEUDO.sub(lambda m: " " * len(m.group(0)), clause)


def _span_words(text: str, start: int, end: int) -> int:
    return len(re.findall(r"\S+", text[start:end]))


def assess(text: str, term: str | None = None) -> Assertion:
    """Assertion of ``term`` within ``text`` (or of the whole text's main content).

    For a whole statement: negated if a negation trigger governs its first content, e.g.
    "Denies chest pain", "No fever.", "Non-smoker", "Chest pain is absent".
    """
    low = fold(text)
    if term is not None:
        tl = fold(term).strip()
        idx = low.find(tl) if tl else -1
        if idx < 0:
            return Assertion()
        return _assess_at(low, idx, idx + len(tl))
    # Whole-statement mode: take the first clause with content.
    for start, clause in _clauses(low):
        content = re.search(r"[a-z0-9]", clause)
        if not content:
            continue
        masked = _masked(clause)
        m = _PRE.search(masked)
        words = re.findall(r"[a-z0-9'-]+", masked)
        negated = trigger = None
        if m and _span_words(masked, 0, m.start()) <= 3:
            negated, trigger = True, m.group(0)
        elif re.match(r"\s*non-?[a-z]", masked):
            negated, trigger = True, "non"
        else:
            pm = _POST.search(masked)
            if pm and not _TERM.search(masked[: pm.start()]):
                negated, trigger = True, pm.group(0)
        hedge = _HEDGE.search(masked)
        fam = _FAMILY.search(masked)
        return Assertion(bool(negated), bool(hedge), bool(fam) and len(words) > 0,
                         trigger or (hedge.group(0) if hedge else ""))
    return Assertion()


def _assess_at(low: str, start: int, end: int) -> Assertion:
    # Find the clause containing the term.
    cstart, clause = 0, low
    for s, c in _clauses(low):
        if s <= start < s + len(c) + 1:
            cstart, clause = s, c
            break
    rel_s, rel_e = start - cstart, end - cstart
    masked = _masked(clause)
    negated = uncertain = family = False
    trigger = ""
    before = masked[:rel_s]
    # Forward scope: nearest pre-trigger before the term, no termination in between, within limit.
    for m in _PRE.finditer(before):
        between = before[m.end():]
        if _TERM.search(between) or _span_words(before, m.end(), len(before)) > SCOPE_WORDS:
            continue
        negated, trigger = True, m.group(0)
    if not negated and re.search(r"non-?$", before):
        negated, trigger = True, "non"
    after = masked[rel_e:]
    pm = _POST.search(after)
    if not negated and pm and not _TERM.search(after[: pm.start()]) and \
            _span_words(after, 0, pm.start()) <= 4:
        negated, trigger = True, pm.group(0)
    hm = _HEDGE.search(masked)
    if hm:
        uncertain, trigger = True, trigger or hm.group(0)
    if _FAMILY.search(before):
        family = True
    return Assertion(negated, uncertain, family, trigger)


def is_negated(text: str, term: str | None = None) -> bool:
    return assess(text, term).negated


def is_hedged(text: str, term: str | None = None) -> bool:
    return assess(text, term).uncertain


_LIST_LEAD = re.compile(
    r"^(?:the\s+)?(?:patient\s+|pt\s+|she\s+|he\s+|i\s+)?(?:also\s+)?(?:denies|denied|deny|"
    r"reports no|has no|had no|no history of|negative for|without|no)\s+"
    r"(?:any\s+)?(?:(?:experiencing|having|recent|history of|symptoms of|episodes of|signs of)\s+)*",
    re.I)


def negated_items(sentence: str) -> list[str]:
    """Items of a negated list: "Denies fever, chills, or night sweats." -> [fever, chills, night sweats].

    Returns [] when the sentence is not a leading-negation list.
    """
    s = sentence.strip().rstrip(".")
    m = _LIST_LEAD.match(s)
    if not m:
        return []
    rest = s[m.end():]
    rest = re.split(r"\b(?:but|however|although|though|except)\b", rest, maxsplit=1, flags=re.I)[0]
    parts = re.split(r",\s*(?:and\s+|or\s+|nor\s+)?|\s+(?:and|or|nor)\s+", rest)
    items = []
    for p in parts:
        p = re.sub(r"^(?:any|recent|no)\s+", "", p.strip(), flags=re.I).strip(" .")
        if p and len(p) <= 80:
            items.append(p)
    return items
