"""Published question datasets: MedQA-USMLE, MedMCQA and PubMedQA (JSON Lines).

Known upstream defect: a few MedMCQA rows list the same option text twice (18 of the
3,371 dev rows). Such rows cannot be asked fairly, and users cannot fix a published file,
so rows with duplicate option texts are skipped with a note instead of failing the file.
"""

from __future__ import annotations

from collections.abc import Callable

from .common import Fields, iter_json_records, slugify, stable_id
from .records import ImportBundle, ImportIssue, ItemRecord, OptionRecord
from .validation import build_bundle, has_duplicate_texts

MEDQA_SOURCE = "MedQA-USMLE (Jin et al. 2021)"
MEDMCQA_SOURCE = "MedMCQA (Pal et al. 2022)"
PUBMEDQA_SOURCE = "PubMedQA PQA-L (Jin et al. 2019)"
LICENCE = "MIT"
PUBMEDQA_DECISIONS = ("yes", "no", "maybe")
PUBMEDQA_MAX_TAGS = 5
# MeSH "check tags" describe the study population, not the topic, so they make poor tags.
MESH_CHECK_TAGS = {"humans", "animals", "female", "male", "pregnancy", "infant", "infant-newborn", "child",
                   "child-preschool", "adolescent", "young-adult", "adult", "middle-aged", "aged",
                   "aged-80-and-over"}

Reader = Callable[[Fields, int], ItemRecord | None]


def _letter_options(f: Fields, name: str = "options") -> tuple[list[str], list[str]]:
    """Options given as {"A": text, "B": text, ...}: (letters, texts) in letter order."""
    opts = f.object(name, required=True)
    if opts is None:
        return [], []
    letters = sorted(opts)
    texts = []
    for letter in letters:
        value = opts[letter]
        if not isinstance(value, str):
            f.issue("must be a string", f"{name}.{letter}")
            value = ""
        texts.append(value.strip())
    return letters, texts


def _key(f: Fields, letters: list[str], name: str = "answer_idx") -> int | None:
    answer = f.text(name, required=True).strip()
    if answer and answer not in letters:
        f.issue(f"answer {answer[:20]!r} is not one of the option letters {', '.join(letters)}", name)
        return None
    return letters.index(answer) if answer else None


def _medqa(f: Fields, n: int) -> ItemRecord:
    question = f.text("question", required=True).strip()
    letters, texts = _letter_options(f)
    key = _key(f, letters)
    meta = f.text("meta_info")
    tag = slugify(meta) if meta else ""
    return ItemRecord(
        external_id=f.text("id").strip() or stable_id("medqa", question),
        stem=question, lead_in="",
        options=tuple(OptionRecord(t) for t in texts), key=key,
        tags=(tag,) if tag else (), source=MEDQA_SOURCE, licence=LICENCE, line=f.line,
    )


def _medmcqa(f: Fields, n: int) -> ItemRecord:
    question = f.text("question", required=True).strip()
    if "opa" in f.obj:  # the original release: opa..opd, cop (1-based), exp, subject/topic
        letters, texts = [], []
        for letter in "abcd":
            if f"op{letter}" in f.obj:
                letters.append(letter.upper())
                texts.append(f.text(f"op{letter}").strip())
        cop = f.integer("cop", required=True)
        key = cop - 1 if cop is not None else None
        explanation = (f.optional_text("exp") or "").strip()
        tags = tuple(dict.fromkeys(t for t in (slugify(f.optional_text("subject_name") or ""),
                                               slugify(f.optional_text("topic_name") or "")) if t))
    else:
        letters, texts = _letter_options(f)
        key = _key(f, letters)
        explanation, tags = "", ()
    ext = f.optional_text("id")
    if not ext:
        row = f.integer("row")
        ext = f"medmcqa-row-{row}" if row is not None else stable_id("medmcqa", question)
    return ItemRecord(
        external_id=ext.strip(), stem=question, lead_in="",
        options=tuple(OptionRecord(t) for t in texts), key=key, explanation=explanation,
        tags=tags, source=MEDMCQA_SOURCE, licence=LICENCE, line=f.line,
    )


def _pubmedqa(f: Fields, n: int) -> ItemRecord:
    # The official ori_pqal.json spells some fields in capitals (QUESTION, CONTEXTS, LABELS, ...).
    f.obj = {{"labels": "context_labels"}.get(k.lower(), k.lower()): v for k, v in f.obj.items()}
    pmid = f.obj.get("pmid", f.obj.get("_key"))
    if isinstance(pmid, int) and not isinstance(pmid, bool):
        pmid = str(pmid)
    if not isinstance(pmid, str) or not pmid.strip():
        f.issue("required field is missing (a PubMed id)", "pmid")
        pmid = ""
    contexts = f.obj.get("contexts")
    labels = f.obj.get("context_labels") or []
    if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
        f.issue("must be a list of strings", "contexts")
        contexts = []
    if not isinstance(labels, list) or not all(isinstance(c, str) for c in labels):
        f.issue("must be a list of strings", "context_labels")
        labels = []
    paragraphs = []
    for i, context in enumerate(contexts):
        label = labels[i].strip() if i < len(labels) else ""
        paragraphs.append(f"{label.capitalize()}: {context.strip()}" if label else context.strip())
    decision = f.text("final_decision", required=True).strip().lower()
    key = None
    if decision:
        if decision in PUBMEDQA_DECISIONS:
            key = PUBMEDQA_DECISIONS.index(decision)
        else:
            f.issue(f"must be yes, no or maybe, not {decision[:20]!r}", "final_decision")
    tags = tuple(dict.fromkeys(s for s in (slugify(m) for m in f.text_list("meshes")) if s and s not in MESH_CHECK_TAGS))
    return ItemRecord(
        external_id=f"pubmedqa-{pmid.strip()}" if pmid else "",
        stem="\n\n".join(paragraphs), lead_in=f.text("question", required=True).strip(),
        options=tuple(OptionRecord(d.capitalize()) for d in PUBMEDQA_DECISIONS), key=key,
        explanation=f.text("long_answer").strip(), tags=tags[:PUBMEDQA_MAX_TAGS],
        source=PUBMEDQA_SOURCE, licence=LICENCE, line=f.line,
    )


READERS: dict[str, Reader] = {"medqa": _medqa, "medmcqa": _medmcqa, "pubmedqa": _pubmedqa}


def parse_dataset(text: str, fmt: str) -> ImportBundle:
    reader = READERS[fmt]
    issues: list[ImportIssue] = []
    items: list[ItemRecord] = []
    skipped: list[str] = []
    for n, (line, obj) in enumerate(iter_json_records(text, issues), start=1):
        label = obj.get("id") or obj.get("pmid") or obj.get("row")
        f = Fields(obj, issues, line, f"item '{label}'" if isinstance(label, (str, int)) else None)
        item = reader(f, n)
        if has_duplicate_texts(o.text for o in item.options):
            skipped.append(str(line) if line is not None else item.external_id)
            continue
        items.append(item)
    notes = []
    if skipped:
        shown = ", ".join(skipped[:20]) + (", ..." if len(skipped) > 20 else "")
        notes.append(f"skipped {len(skipped)} questions whose options repeat the same text "
                     f"(a defect of the published dataset) at lines {shown}")
    return build_bundle(issues, items=items, notes=notes, skipped=len(skipped))
