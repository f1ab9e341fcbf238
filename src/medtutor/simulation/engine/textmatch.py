"""Small text utilities shared by the interview, importers and diagnosis matching (pure)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

STOPWORDS = frozenset("""
a an the and or but if of to in on at by for with from as is are was were be been being am do does
did have has had having i me my mine you your yours he him his she her it its we our they them their
this that these those there here what which who whom whose when where why how any some all each
about into over under again further then once so than too very can could should would will shall
may might must just also not no nor only own same other such up down out off s t don doesn didn
ever anything something thing things please tell let get got go going doctor doc ok okay well
""".split())

# British -> American spellings so either matches (applied to lowercase text).
_SPELLING = (
    ("haem", "hem"), ("oesophag", "esophag"), ("oedem", "edem"), ("anaem", "anem"),
    ("aemia", "emia"), ("diarrhoea", "diarrhea"), ("tumour", "tumor"), ("paediatr", "pediatr"),
    ("foetal", "fetal"), ("leukaem", "leukem"), ("ischaem", "ischem"), ("coeliac", "celiac"),
    ("oestrogen", "estrogen"), ("gynaecolog", "gynecolog"), ("orthopaed", "orthoped"),
    ("hypokalaem", "hypokalem"), ("hyperkalaem", "hyperkalem"), ("sulph", "sulf"),
    ("colour", "color"), ("behaviour", "behavior"),
)

_SENT_ABBREV = re.compile(
    r"\b(?:dr|mr|mrs|ms|st|vs|e\.g|i\.e|approx|no|fig|dept|etc|mg|ml|mm|min|hr|hrs|yr|yrs|wk|wks)\.$",
    re.I)


def fold(text: str) -> str:
    """Lowercase, strip accents, unify quotes and dashes."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    text = text.replace("\u201d", '"').replace("\u2013", "-").replace("\u2014", "-")
    return text.lower()


def americanize(text: str) -> str:
    for uk, us in _SPELLING:
        if uk in text:
            text = text.replace(uk, us)
    return text


def normalize(text: str) -> str:
    """Folded, American-spelled, punctuation-free text with single spaces."""
    text = americanize(fold(text))
    text = re.sub(r"[^a-z0-9%/.\s-]+", " ", text)
    text = re.sub(r"(?<![0-9])[./-]|[./-](?![0-9])", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def tokens(text: str) -> list[str]:
    return normalize(text).split()


_SUFFIXES = ("ations", "ation", "iness", "ings", "ing", "ness", "ies", "ied", "ed", "es", "s", "ly",
             "y")


def stem(word: str) -> str:
    """Crude suffix stripper: enough to match smoke/smoking/smokes, cough/coughing."""
    if len(word) <= 4 or word.isdigit():
        return word
    for suf in _SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            base = word[: -len(suf)]
            if suf in ("ies", "ied"):
                return base + "y"
            return base.rstrip("e") if base.endswith("e") else base
    return word.rstrip("e") if word.endswith("e") else word


# Lay and clinical words for the same thing, folded before stemming so either matches.
SYNONYMS = {
    "medicine": "medication", "medicines": "medication", "meds": "medication",
    "tablets": "medication", "tablet": "medication", "pills": "medication",
    "tummy": "abdomen", "belly": "abdomen", "abdominal": "abdomen", "stomach": "abdomen",
    "weeing": "urine", "urinary": "urine", "thirsty": "thirst",
    "pee": "urine", "peeing": "urine", "urinate": "urine", "urinating": "urine",
    "urination": "urine", "wee": "urine", "puke": "vomit", "vomiting": "vomit", "sick": "vomit",
    "poo": "stool", "stools": "stool", "temperature": "fever", "febrile": "fever",
    "fevers": "fever", "cigarettes": "smoke", "cigarette": "smoke", "cigs": "smoke",
    "tobacco": "smoke", "smoker": "smoke", "booze": "alcohol", "job": "work", "employed": "work",
    "kids": "children", "breathless": "breath", "breathing": "breath", "dyspnea": "breath",
    "mum": "mother", "mom": "mother", "dad": "father", "relatives": "family",
    "operation": "surgery", "operations": "surgery", "operated": "surgery", "lost": "loss",
}


def content_stems(text: str) -> list[str]:
    return [stem(SYNONYMS.get(t, t)) for t in tokens(text) if t not in STOPWORDS and len(t) > 1]


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping decimals (37.1) and common abbreviations intact."""
    text = re.sub(r"\s+", " ", text or "").strip()
    if not text:
        return []
    parts: list[str] = []
    start = 0
    for m in re.finditer(r"[.!?;](?:[\"')\]]*)\s+(?=[\"'(\[]?[A-Z0-9])", text):
        piece = text[start : m.end()].strip()
        if _SENT_ABBREV.search(text[start : m.start() + 1]):
            continue
        if piece:
            parts.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        parts.append(tail)
    return [p for p in parts if re.search(r"[A-Za-z0-9]", p)]


def char_ngrams(text: str, n: int = 3) -> set[str]:
    t = f" {normalize(text)} "
    return {t[i : i + n] for i in range(max(len(t) - n + 1, 0))}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@lru_cache(maxsize=65536)
def edit_ratio(a: str, b: str) -> float:
    """1 - normalised Levenshtein distance."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    if abs(len(a) - len(b)) > max(len(a), len(b)) // 2:
        return 0.0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return 1.0 - prev[-1] / max(len(a), len(b))


def fuzzy_in(word: str, vocab: set[str] | frozenset[str], threshold: float = 0.8) -> str | None:
    """The vocabulary word closest to ``word`` if close enough (exact first)."""
    if word in vocab:
        return word
    if len(word) < 4:
        return None
    best, best_score = None, threshold
    for cand in vocab:
        if abs(len(cand) - len(word)) > 2 or cand[0] != word[0]:
            continue
        score = edit_ratio(word, cand)
        if score >= best_score:
            best, best_score = cand, score
    return best


# --- person conversion -----------------------------------------------------------------------

_LEADS = re.compile(
    r"^(?:the\s+)?(?:patient|pt|he|she|they)\s+(?:also\s+)?"
    r"(?:reports|reported|states|stated|notes|noted|says|said|describes|described|mentions|"
    r"mentioned|complains of|complained of|endorses|endorsed|admits to|admitted to|recalls)"
    r"(?:\s+that)?\s+", re.I)
_SUBJECT = re.compile(r"\b(?:the patient|patient|the child|the boy|the girl|the man|the woman|"
                      r"the infant|she|he)\b", re.I)
_IRREGULAR = {"is": "am", "has": "have", "does": "do", "was": "was", "goes": "go",
              "denies": "deny", "tries": "try", "carries": "carry", "worries": "worry",
              "cries": "cry", "hasn't": "haven't", "doesn't": "don't", "isn't": "am not"}
_OBJECT = {"her": "my", "his": "my", "herself": "myself", "himself": "myself", "hers": "mine"}


def _deconjugate(word: str) -> str:
    low = word.lower()
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if low.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if low.endswith("s") and not low.endswith(("ss", "us", "is")) and len(low) > 2:
        return word[:-1]
    return word


_VERBS_3P = frozenset("""
smokes drinks works lives uses takes has is was denies reports notes describes feels experiences
eats exercises walks runs plays travels sleeps wakes gets needs wants vomits coughs sees hears
states says complains admits endorses uses injects sniffs snorts enjoys attends studies teaches
""".split())


def to_first_person(text: str) -> str:
    """Best-effort clinical third person -> patient's first person ("She smokes" -> "I smoke")."""
    s = text.strip()
    if not s:
        return s
    s = re.sub(r"^(?:on review of systems,?\s*|ros:?\s*)", "", s, flags=re.I)
    s = _LEADS.sub("I have noticed ", s, count=1) if re.match(
        r"^(?:the\s+)?(?:patient|pt|he|she)\s+(?:also\s+)?(?:reports|notes|describes|mentions|"
        r"complains of|endorses)\s+(?:a|an)\b", s, re.I) else _LEADS.sub("", s, count=1)
    low = s.lower()
    if re.match(r"^non-?smoker\b", low):
        rest = s.split(",", 1)[1].strip() if "," in s else ""
        return "I don't smoke." + (" " + to_first_person(rest) if rest else "")
    if re.match(r"^(?:ex-?smoker|former smoker)\b", low):
        return "I used to smoke" + s[s.find(" "):] if " " in s else "I used to smoke."

    words = s.split(" ")
    first = words[0].lower().strip(",")
    if first in _VERBS_3P:
        words = ["I", _deconjugate(words[0]).lower()] + words[1:]
        s = " ".join(words)

    # Subject pronoun followed by a verb -> "I" + base form.
    def fix(m: re.Match[str]) -> str:
        verb = m.group(2)
        adv = m.group(1) or ""
        return f"I {adv}{_deconjugate(verb)}"

    # "She says that she has ..." -> "she has ..."; "He reports pain" -> "I have pain".
    s = re.sub(r"\b(?:she|he|the patient|patient)\s+(?:also\s+)?(?:reports|states|says|notes|"
               r"mentions|explains|adds)(?:\s+that)?\s+(?=(?:she|he|her|his)\b)", "", s, flags=re.I)
    s = re.sub(r"\b(?:she|he|the patient|patient)\s+((?:also|now|still)\s+)?(?:reports|endorses|"
               r"describes|notes|complains of)\s+(?=[a-z]+ing\b)",
               lambda m: f"I've {m.group(1) or ''}been ", s, flags=re.I)
    s = re.sub(r"\b(?:she|he|the patient|patient)\s+((?:also|now|still)\s+)?(?:reports|endorses|"
               r"describes|notes|complains of)\s+",
               lambda m: f"I {m.group(1) or ''}have ", s, flags=re.I)
    s = re.sub(r"\b(?:the patient|patient|she|he)\s+((?:also|still|often|usually|never|"
               r"sometimes|occasionally|only|now|currently|recently|has been|had)\s+)?"
               r"([A-Za-z']+)", fix, s, flags=re.I)
    s = re.sub(r"\b(her|his|herself|himself)\b", lambda m: _OBJECT[m.group(1).lower()], s,
               flags=re.I)
    s = re.sub(r"\bI am been\b", "I have been", s)
    s = re.sub(r"\bI has\b", "I have", s)
    if s.startswith("I "):
        s = re.sub(r"\b(and|but) (?:is)\b", r"\1 am", s)
        s = re.sub(r"\b(and|but) (?:has)\b", r"\1 have", s)
        s = re.sub(r"\b(and|but) (admits|denies|reports|takes|drinks|smokes|works|lives|uses)\b",
                   lambda m: f"{m.group(1)} {_deconjugate(m.group(2))}", s)
    s = re.sub(r"\bI is\b", "I am", s)
    s = re.sub(r"\bI have notice\b", "I have noticed", s)
    s = re.sub(r"\bI deny (?:any |experiencing (?:any )?|having (?:any )?)?", "I haven't had ", s)
    s = re.sub(r"^I have noticed an? (\d+|one|two|three|four|five|six|several|few)[- ](hour|day|week|"
               r"month|year)s?[- ]history of (?:experiencing |having )?(.*?)([.]?)$",
               lambda m: f"I've had {m.group(3)} for {m.group(1)} {m.group(2)}"
               f"{'' if m.group(1) in ('1', 'one') else 's'}.", s, flags=re.I)
    s = s[0].upper() + s[1:] if s else s
    if not s.endswith((".", "!", "?", '"')):
        s += "."
    return s


def to_first_person_second(text: str) -> str:
    """NEJM patient scripts are written to the actor ("you have noticed") -> "I have noticed"."""
    s = re.sub(r"^for (?:your|the) (?:role as (?:a|the) patient|patient actor|role)[^:,]{0,40}"
               r"[:,]?\s*", "", text.strip(), flags=re.I)
    s = re.sub(r"^you (?:should|need to|must) [^:]{0,160}?(?:following|below)[^:]{0,80}:\s*", "", s,
               flags=re.I)
    s = re.sub(r"\*\*[^*]{1,60}\*\*:?\s*", "", s)                    # markdown headings
    s = re.sub(r"(?:^|\s)[-\u2022*]\s+(?=\S)", " ", s).strip()     # bullet lists -> sentences
    s = re.sub(r"^you are (?:a|an) [^,.]*?(?:who|and)\s+", "", s, flags=re.I)
    s = re.sub(r"^I am (?:a|an) [^,.]*?\bwho\s+(?:has|have)\b", "I have", s, flags=re.I)
    s = re.sub(r"^I am (?:a|an) [^,.]*?\bwho\s+(?:is|am)\b", "I am", s, flags=re.I)
    reps = [(r"\byou're\b", "I'm"), (r"\byou've\b", "I've"), (r"\byou'll\b", "I'll"),
            (r"\byou'd\b", "I'd"), (r"\byou are\b", "I am"), (r"\byou were\b", "I was"),
            (r"\byourself\b", "myself"), (r"\byours\b", "mine"), (r"\byour\b", "my"),
            (r"\byou\b", "I")]
    for pat, rep in reps:
        s = re.sub(pat, rep, s, flags=re.I)
    s = re.sub(r"^(?:has|have)\b", "I have", s, flags=re.I)
    s = re.sub(r"\b(I)\s+(has)\b", r"\1 have", s)
    s = re.sub(r"(?<=[a-z]) I\b(?=[.,;]|$)", " me", s)      # object position: "told I." -> "told me."
    s = re.sub(r"\b(to|with|for|from|about|gave|told|asked|showed|help) I\b", r"\1 me", s)
    if s and s[0].islower():
        s = s[0].upper() + s[1:]
    if s and s.lower().startswith("have "):
        s = "I " + s
    return s
