"""Match a student's free-text diagnosis to the case diagnosis and its synonyms (pure).

Robust to abbreviations (MI, DKA, PE, COPD ...), British/American spelling, typos, word order and
filler words ("probably", "acute"). Negated answers ("not MI") never match. Returns a match flag
and a score in [0, 1] with the term it matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from .case import Case
from .textmatch import char_ngrams, edit_ratio, jaccard, normalize

MATCH_THRESHOLD = 0.82

# Common clinical abbreviations -> expansion (lowercase). medtutor's own list.
ABBREVIATIONS: dict[str, str] = {
    "mi": "myocardial infarction", "ami": "acute myocardial infarction",
    "stemi": "st elevation myocardial infarction", "nstemi": "non st elevation myocardial infarction",
    "acs": "acute coronary syndrome", "dka": "diabetic ketoacidosis",
    "hhs": "hyperosmolar hyperglycemic state", "pe": "pulmonary embolism",
    "dvt": "deep vein thrombosis", "copd": "chronic obstructive pulmonary disease",
    "chf": "congestive heart failure", "hf": "heart failure", "af": "atrial fibrillation",
    "afib": "atrial fibrillation", "uti": "urinary tract infection", "cap": "community acquired pneumonia",
    "tb": "tuberculosis", "sle": "systemic lupus erythematosus", "ra": "rheumatoid arthritis",
    "ms": "multiple sclerosis", "gbs": "guillain barre syndrome", "all": "acute lymphoblastic leukemia",
    "aml": "acute myeloid leukemia", "cml": "chronic myeloid leukemia",
    "cll": "chronic lymphocytic leukemia", "hus": "hemolytic uremic syndrome",
    "ttp": "thrombotic thrombocytopenic purpura", "itp": "immune thrombocytopenic purpura",
    "dic": "disseminated intravascular coagulation", "sah": "subarachnoid hemorrhage",
    "tia": "transient ischemic attack", "cva": "stroke", "aaa": "abdominal aortic aneurysm",
    "gerd": "gastroesophageal reflux disease", "gord": "gastroesophageal reflux disease",
    "ibd": "inflammatory bowel disease", "ibs": "irritable bowel syndrome", "uc": "ulcerative colitis",
    "pud": "peptic ulcer disease", "aki": "acute kidney injury", "ckd": "chronic kidney disease",
    "bph": "benign prostatic hyperplasia", "pid": "pelvic inflammatory disease",
    "pcos": "polycystic ovary syndrome", "sids": "sudden infant death syndrome",
    "ards": "acute respiratory distress syndrome", "osa": "obstructive sleep apnea",
    "hsp": "henoch schonlein purpura", "hocm": "hypertrophic obstructive cardiomyopathy",
    "hcm": "hypertrophic cardiomyopathy", "svt": "supraventricular tachycardia",
    "vt": "ventricular tachycardia", "vf": "ventricular fibrillation", "t1dm": "type 1 diabetes mellitus",
    "t2dm": "type 2 diabetes mellitus", "dm": "diabetes mellitus", "htn": "hypertension",
    "nms": "neuroleptic malignant syndrome", "ptsd": "post traumatic stress disorder",
    "ocd": "obsessive compulsive disorder", "adhd": "attention deficit hyperactivity disorder",
    "gad": "generalized anxiety disorder", "mdd": "major depressive disorder",
    "als": "amyotrophic lateral sclerosis", "hiv": "human immunodeficiency virus infection",
    "aids": "acquired immunodeficiency syndrome", "ebv": "epstein barr virus",
    "cmv": "cytomegalovirus", "hsv": "herpes simplex virus", "vzv": "varicella zoster virus",
    "rsv": "respiratory syncytial virus", "mrsa": "methicillin resistant staphylococcus aureus",
    "sjs": "stevens johnson syndrome", "ten": "toxic epidermal necrolysis",
    "bpv": "benign paroxysmal positional vertigo", "bppv": "benign paroxysmal positional vertigo",
    "nash": "nonalcoholic steatohepatitis", "nafld": "nonalcoholic fatty liver disease",
    "pbc": "primary biliary cholangitis", "psc": "primary sclerosing cholangitis",
    "siadh": "syndrome of inappropriate antidiuretic hormone secretion",
    "men": "multiple endocrine neoplasia", "ectopic": "ectopic pregnancy",
    "lgv": "lymphogranuloma venereum", "cf": "cystic fibrosis", "dmd": "duchenne muscular dystrophy",
    "rhd": "rheumatic heart disease", "ie": "infective endocarditis", "std": "sexually transmitted infection",
    "sti": "sexually transmitted infection", "ards.": "acute respiratory distress syndrome",
}
# Lay or alternative names, both directions handled by normalisation.
ALIASES: dict[str, str] = {
    "heart attack": "myocardial infarction", "stroke": "cerebrovascular accident",
    "cerebral infarction": "cerebrovascular accident", "blood clot in the lung": "pulmonary embolism",
    "kidney stone": "nephrolithiasis", "renal calculus": "nephrolithiasis",
    "ureteric calculus": "ureterolithiasis", "ureteral calculus": "ureterolithiasis",
    "appendicitis acute": "appendicitis", "lupus": "systemic lupus erythematosus",
    "sugar diabetes": "diabetes mellitus", "whooping cough": "pertussis", "shingles": "herpes zoster",
    "chickenpox": "varicella", "german measles": "rubella", "mono": "infectious mononucleosis",
    "glandular fever": "infectious mononucleosis", "heart failure": "congestive heart failure",
    "anaphylactic shock": "anaphylaxis", "opioid overdose": "opioid toxicity",
    "opiate overdose": "opioid toxicity", "iga vasculitis": "henoch schonlein purpura",
    "myelogenous": "myeloid", "cancer": "carcinoma", "tumor": "neoplasm",
}
# Words that do not change the diagnosis (hedges, fillers, generic nouns).
FILLER = frozenset("""
probable probably possible possibly likely suspected query presumed presumptive diagnosis dx
the a an of with due to from in and or my i think it is its this patient pt has mellitus
""".split())
WEAK = frozenset("acute chronic disease disorder syndrome severe mild moderate primary".split())
_NEGATION = re.compile(r"\b(?:not|no|rule out|ruled out|excluded|unlikely|without)\b")


@dataclass(frozen=True)
class DiagnosisMatch:
    matched: bool
    score: float
    term: str = ""          # the case term (name or synonym) it matched best
    explanation: str = ""


def canonical(text: str) -> list[str]:
    """Normalised token list with abbreviations and aliases expanded, fillers removed."""
    t = normalize(text or "")
    t = re.sub(r"(?<=[a-z])'s\b", "", t)
    t = t.replace("-", " ")
    t = re.sub(r"\b(?:type|stage|grade)\s+(i{1,3}|iv|1|2|3|4)\b",
               lambda m: "type" + {"i": "1", "ii": "2", "iii": "3", "iv": "4"}.get(m.group(1),
                                                                                    m.group(1)), t)
    words = t.split()
    expanded: list[str] = []
    for w in words:
        expanded.extend(ABBREVIATIONS.get(w, w).split())
    t = " ".join(expanded)
    for alias, target in ALIASES.items():
        t = re.sub(r"\b" + re.escape(alias) + r"\b", target, t)
    return [w for w in t.split() if w not in FILLER]


def _weight(word: str) -> float:
    return 0.35 if word in WEAK else 1.0


def _soft_f1(a: Sequence[str], b: Sequence[str]) -> float:
    """Weighted soft token F1: each token matched to its most similar counterpart."""
    if not a or not b:
        return 0.0

    def best(w: str, others: Sequence[str]) -> float:
        top = 0.0
        for o in others:
            if w == o:
                return 1.0
            if w.isdigit() or o.isdigit() or w.startswith("type") or o.startswith("type"):
                continue       # numbers and types must match exactly (type 1 != type 2)
            if len(w) >= 4 and len(o) >= 4:
                r = edit_ratio(w, o)
                if r >= 0.75:
                    top = max(top, r)
            if len(w) >= 5 and len(o) >= 5 and (w.startswith(o[:5]) or o.startswith(w[:5])) \
                    and abs(len(w) - len(o)) <= 3:
                top = max(top, 0.85)   # inflection: pneumonia/pneumonic
        return top

    pa = sum(_weight(w) * best(w, b) for w in a) / sum(_weight(w) for w in a)
    pb = sum(_weight(w) * best(w, a) for w in b) / sum(_weight(w) for w in b)
    return 0.0 if pa + pb == 0 else 2 * pa * pb / (pa + pb)


_OPPOSITES = (("acute", "chronic"), ("left", "right"), ("benign", "malignant"),
              ("upper", "lower"), ("central", "peripheral"), ("primary", "secondary"),
              ("type1", "type2"), ("systolic", "diastolic"), ("myeloid", "lymphoid"),
              ("obstructive", "restrictive"), ("ischemic", "hemorrhagic"))


def _contradicts(a: Sequence[str], b: Sequence[str]) -> bool:
    sa, sb = set(a), set(b)
    for x, y in _OPPOSITES:
        if (x in sa and y in sb) or (y in sa and x in sb):
            return True
    for w in sa:
        for prefix, other in (("hyper", "hypo"), ("hypo", "hyper")):
            if w.startswith(prefix) and any(o == other + w[len(prefix):] for o in sb):
                return True
    return False


def similarity(answer: str, term: str) -> float:
    a, b = canonical(answer), canonical(term)
    if not a or not b:
        return 0.0
    if _contradicts(a, b):
        return 0.0
    if a == b or sorted(a) == sorted(b):
        return 1.0
    token = _soft_f1(a, b)
    # Split or joined words ("keto acidosis" / "ketoacidosis").
    joined = edit_ratio("".join(a), "".join(b))
    if joined >= 0.9:
        token = max(token, joined)
    chars = jaccard(char_ngrams(" ".join(sorted(a))), char_ngrams(" ".join(sorted(b))))
    return round(max(token, 0.75 * token + 0.25 * chars), 4)


def match_diagnosis(answer: str, name: str, synonyms: Iterable[str] = (),
                    threshold: float = MATCH_THRESHOLD) -> DiagnosisMatch:
    """Does the free-text ``answer`` name the diagnosis ``name`` (or one of ``synonyms``)?"""
    text = (answer or "").strip()[:300]
    if not text:
        return DiagnosisMatch(False, 0.0, "", "empty answer")
    if _NEGATION.search(normalize(text)):
        return DiagnosisMatch(False, 0.0, "", "the answer is negated")
    best_term, best = "", 0.0
    for term in (name, *synonyms):
        s = similarity(text, term)
        if s > best:
            best_term, best = term, s
    return DiagnosisMatch(best >= threshold, best, best_term,
                          f"best match {best_term!r} with score {best:.2f} "
                          f"(threshold {threshold:.2f})")


def match_case_diagnosis(answer: str, case: Case) -> DiagnosisMatch:
    return match_diagnosis(answer, case.diagnosis.name, case.diagnosis.synonyms)


def rank_in_differential(ranked: Sequence[str], case: Case) -> int | None:
    """1-based position of the case diagnosis in a student's ranked list, or None."""
    for i, item in enumerate(ranked, 1):
        if match_case_diagnosis(item, case).matched:
            return i
    return None
