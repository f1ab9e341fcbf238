"""Clinical word lists used to tag case statements with taxonomy topics (pure data + lookups).

medtutor's own lists; symptom-to-system grouping follows the usual review-of-systems headings
(e.g. Bickley, Bates' Guide to Physical Examination, 13th ed., ch. 1).
"""

from __future__ import annotations

import re

ROS_TERMS: dict[str, tuple[str, ...]] = {
    "constitutional": (
        "fever", "febrile", "temperature", "chills", "rigors", "night sweats", "sweats", "sweating",
        "weight loss", "lost weight", "weight gain", "gained weight", "fatigue", "tired",
        "tiredness", "malaise", "appetite", "lethargy", "lethargic", "infection", "infections",
        "feeling unwell", "hot and cold",
    ),
    "cardiovascular": (
        "chest pain", "chest tightness", "palpitations", "palpitation", "heart racing",
        "racing heart", "syncope", "fainting", "faint", "passed out", "leg swelling",
        "ankle swelling", "swollen ankles", "edema", "orthopnea", "paroxysmal nocturnal",
        "claudication", "heart",
    ),
    "respiratory": (
        "cough", "coughing", "shortness of breath", "short of breath", "breathless",
        "breathlessness", "dyspnea", "difficulty breathing", "wheeze", "wheezing", "sputum",
        "phlegm", "hemoptysis", "coughing up blood", "cough up blood", "coughed up blood", "breathing", "wheezy", "tight chest",
    ),
    "gastrointestinal": (
        "nausea", "nauseous", "vomiting", "vomit", "diarrhea", "constipation", "abdominal pain",
        "stomach", "tummy", "belly", "bowel", "stool", "stools", "melena", "black stool",
        "blood in stool", "rectal bleeding", "heartburn", "indigestion", "dysphagia",
        "swallowing", "jaundice", "yellow", "bloating",
    ),
    "genitourinary": (
        "dysuria", "urination", "urinating", "urine", "urinary", "pee", "peeing", "frequency",
        "hematuria", "incontinence", "discharge", "testicular", "vaginal", "genital", "penis",
        "penile", "scrotal", "flank pain",
    ),
    "neurologic": (
        "headache", "headaches", "dizziness", "dizzy", "weakness", "numbness", "numb", "tingling",
        "pins and needles", "seizure", "seizures", "fits", "vision", "visual", "double vision",
        "blurred vision", "confusion", "confused", "speech", "slurred", "memory", "tremor",
        "balance", "vertigo", "loss of consciousness", "ataxia",
    ),
    "musculoskeletal": (
        "joint pain", "joints", "joint", "back pain", "muscle pain", "muscle", "muscles", "stiffness",
        "stiff", "myalgia", "arthralgia", "arthritis", "swollen joints", "neck pain",
    ),
    "skin": (
        "rash", "rashes", "itch", "itchy", "itching", "pruritus", "lesion", "lesions", "bruising",
        "bruise", "ulcer", "skin", "lump", "lumps", "hair loss", "hair", "nails", "mole", "spots",
        "blisters", "patches",
    ),
    "psychiatric": (
        "mood", "depression", "depressed", "anxiety", "anxious", "sleep", "sleeping", "insomnia",
        "suicidal", "self-harm", "stress", "stressed", "low mood", "hallucinations", "panic",
        "worried", "sad",
    ),
}

SOCIAL_TERMS: dict[str, tuple[str, ...]] = {
    "smoking": ("smoke", "smokes", "smoked", "smoker", "smoking", "cigarette", "cigarettes",
                "tobacco", "pack-year", "pack-years", "pack year", "vape", "vaping", "cigar"),
    "alcohol": ("alcohol", "drink", "drinks", "drinking", "drank", "beer", "beers", "wine",
                "spirits", "vodka", "whiskey", "liquor", "units", "etoh", "alcoholic"),
    "recreational_drugs": ("drug", "drugs", "cocaine", "heroin", "cannabis", "marijuana",
                           "methamphetamine", "intravenous drug", "iv drug", "injects", "opioids",
                           "substance", "substances", "illicit", "recreational", "mdma", "ecstasy"),
    "occupation": ("works", "work", "worked", "job", "employed", "unemployed", "retired",
                   "occupation", "student", "teacher", "farmer", "nurse", "engineer", "worker",
                   "designer", "profession", "career", "office", "construction", "living as",
                   "for a living"),
    "living_situation": ("lives", "living", "live", "married", "divorced", "widowed", "single",
                         "husband", "wife", "partner", "children", "home", "alone", "apartment",
                         "house", "roommate", "homeless", "shelter", "nursing home"),
    "travel": ("travel", "travelled", "traveled", "travelling", "traveling", "trip", "trips",
               "returned from", "visited", "abroad",
               "vacation", "holiday", "camping", "hiking", "immigrated", "emigrated"),
    "sexual_history": ("sexual", "sexually", "sex", "condom", "condoms", "partners", "intercourse",
                       "unprotected", "men who have sex", "msm"),
    "diet_exercise": ("diet", "eats", "eating", "exercise", "exercises", "vegetarian", "vegan",
                      "runs", "running", "gym", "sedentary", "active", "meals", "food"),
}

FAMILY_TERMS = ("mother", "father", "brother", "sister", "aunt", "uncle", "grandmother",
                "grandfather", "cousin", "family history", "family", "parents", "sibling",
                "siblings", "mum", "dad", "relatives", "relative", "runs in")

OBGYN_TERMS = ("pregnan", "menstrua", "period", "periods", "gravida", "para ", "lmp",
               "last menstrual", "contracepti", "gestation", "menarche", "menopaus", "miscarriage",
               "cesarean", "caesarean", "oral contraceptive", "iud", "trimester", "postpartum")

# Statement patterns -> HPI topic, in priority order.
HPI_PATTERNS: tuple[tuple[str, str], ...] = (
    ("allergies", r"\ballerg"),
    ("medications", r"\b(?:takes|taking|took|medication|medications|medicine|prescribed|\d+ ?mg\b|"
                    r"started on|is on|was on|treated with|treatment|treatments|tablets|inhaler|"
                    r"insulin|antibiotics?|cream|ointment|therapy)"),
    ("radiation", r"\b(?:radiat|spreads?|spreading|shoots|goes (?:to|down|up|into)|moves to)"),
    ("relieving", r"\b(?:reliev\w*|better with|better when|better after|improv\w*|eases?|eased|"
                  r"alleviat\w*|resolves? with|settles? with|helps?|subsid\w*)\b"),
    ("aggravating", r"\b(?:worse|worsen|aggravat|exacerbat|triggered|provoked|brought on|on exertion|"
                    r"exert|after (?:eating|meals|exercise)|when (?:lying|bending|walking)|"
                    r"especially (?:when|after|with|during))"),
    ("prior_episodes", r"\b(?:similar episodes?|previous episodes?|prior episodes?|happened before|"
                       r"recurrent|recurring|first time|never had this|episodes? in the past)"),
    ("severity", r"(?:/10\b|out of 10|out of ten|\bsevere\b|\bmild\b|\bmoderate\b|worst|excruciating|"
                 r"unbearable|intensity|severity)"),
    ("character", r"\b(?:sharp|dull|burning|crushing|throbbing|cramp|cramping|stabbing|aching|ache|"
                  r"pressure|squeezing|tight|colicky|gnawing|described as|feels like|pulsating|"
                  r"tearing)"),
    ("timing", r"\b(?:intermittent|constant|continuous|episod|comes and goes|at night|in the "
               r"morning|in the evening|every|times a (?:day|week)|daily|weekly|after meals|"
               r"progressive|gradually|fluctuat)"),
    ("onset", r"\b(?:started|starting|began|begun|came on|onset|sudden|suddenly|abrupt|ago|since|"
              r"yesterday|this morning|last night|woke)"),
    ("duration", r"(?:\b\d+|one|two|three|four|five|six|several|few)[- ](?:hour|day|week|month|year)s?"
                 r"[- ](?:history|duration)|\bfor (?:the )?(?:past |last )?(?:\d+|one|two|three|"
                 r"several|a few|a couple of)\s+(?:hours?|days?|weeks?|months?|years?)|lasting|"
                 r"lasts|duration"),
    ("location", r"\b(?:located|localized|localised|in (?:the|my|her|his) (?:right|left|upper|"
                 r"lower|chest|abdomen|back|head|neck|leg|arm)|region|quadrant|epigastri|"
                 r"periumbilical|flank|groin|behind the)"),
)


def _alternation(terms: tuple[str, ...]) -> re.Pattern[str]:
    alts = sorted((re.escape(t) for t in terms), key=len, reverse=True)
    return re.compile(r"(?<![a-z])(?:" + "|".join(alts) + r")(?![a-z])")


_ROS_TERM_SYSTEM = {t: system for system, terms in ROS_TERMS.items() for t in terms}
_ROS_ANY = _alternation(tuple(_ROS_TERM_SYSTEM))
_SOCIAL_RES = [(topic, _alternation(terms)) for topic, terms in SOCIAL_TERMS.items()]
_FAMILY_RE = _alternation(FAMILY_TERMS)


def ros_system(text: str) -> str | None:
    """The review-of-systems system a symptom phrase belongs to (longest matching term)."""
    low = text.lower()
    best = ""
    pos = 0
    while True:
        m = _ROS_ANY.search(low, pos)
        if not m:
            break
        if len(m.group(0)) > len(best):
            best = m.group(0)
        pos = m.start() + 1
    return _ROS_TERM_SYSTEM.get(best) if best else None


def social_topic(text: str) -> str | None:
    low = text.lower()
    for topic, pattern in _SOCIAL_RES:
        if pattern.search(low):
            return topic
    return None


def is_family(text: str) -> bool:
    return bool(_FAMILY_RE.search(text.lower()))


def is_obgyn(text: str) -> bool:
    low = text.lower()
    return any(t in low for t in OBGYN_TERMS)


def hpi_topic(text: str) -> str | None:
    low = text.lower()
    for topic, pattern in HPI_PATTERNS:
        if re.search(pattern, low):
            return topic
    return None


def statement_topic(text: str, default: str = "associated_symptoms") -> str:
    """Best taxonomy topic for one history statement of a case."""
    low = text.lower()
    if re.search(r"\bfamily history\b|\b(?:mother|father|brother|sister|parents?|aunt|uncle|"
                 r"grandmother|grandfather|cousin)(?:'s)? (?:has|had|have|died|was diagnosed|"
                 r"were diagnosed|also|suffers|suffered|with|history)\b", low):
        return "family_history"
    if is_obgyn(low):
        return "obstetric_gynecologic"
    social = social_topic(low)
    if social in ("smoking", "alcohol", "recreational_drugs", "travel", "sexual_history"):
        return social
    if re.search(r"\b(?:history of|diagnosed with|known|past medical)\b", low) and \
            not re.search(r"\b(?:\d+|one|two|three|several)[- ](?:hour|day|week|month)s?[- ]history",
                          low):
        if re.search(r"\b(?:surgery|operation|removed|resection|appendectomy|cholecystectomy|"
                     r"-ectomy|ectomy|repair|transplant)\b", low):
            return "surgical_history"
        return "past_medical_history"
    if re.search(r"\b(?:underwent|surgery|operation|ectomy)\b", low):
        return "surgical_history"
    topic = hpi_topic(low)
    if topic:
        return topic
    if social:
        return social
    return default
