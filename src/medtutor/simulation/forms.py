"""Forms for virtual-patient authoring, import, assignment and OSCE settings.

The authoring form is a plain-text front end to the case file format: one entry per line, parts
separated by `|`. It builds the same mapping a YAML file would hold, so the one validator in
`engine.case` checks both and its problems are shown beside the field they belong to.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms

from medtutor.simulation.engine.case import SEXES, TEST_CATEGORIES
from medtutor.simulation.engine.physiology import SCENARIOS

MAX_UPLOAD_BYTES = 20_000_000

_LINES_HELP = "One per line."


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _flags(text: str) -> tuple[str, bool, bool]:
    """'No fever [negative] [key]' -> ('No fever', key, negative)."""
    key = bool(re.search(r"\[key\]", text, re.I))
    negative = bool(re.search(r"\[neg(ative)?\]", text, re.I))
    return re.sub(r"\s*\[(key|neg|negative)\]\s*", " ", text, flags=re.I).strip(), key, negative


def _fact(text: str) -> Any:
    body, key, negative = _flags(text)
    if not key and not negative:
        return body
    out: dict[str, Any] = {"text": body}
    if key:
        out["key"] = True
    if negative:
        out["negative"] = True
    return out


def _fact_line(fact: Any) -> str:
    if isinstance(fact, str):
        return fact
    return fact["text"] + (" [key]" if fact.get("key") else "") + (" [negative]" if fact.get("negative") else "")


def _finding_line(finding: dict[str, Any]) -> str:
    flags = (" [key]" if finding.get("key") else "") + {True: " [abnormal]", False: " [normal]"}.get(
        finding.get("abnormal"), "")
    return finding["text"] + flags


# Case-file sections the form edits; the others (review of systems, vitals, ...) are kept as they were.
FORM_SECTIONS = ("id", "title", "setting", "demographics", "chief_complaint", "opening_statement", "history",
                 "past_medical_history", "medications", "allergies", "family_history", "social_history",
                 "examination", "tests", "diagnosis", "differential", "critical_actions", "teaching_points",
                 "expert_path", "physiology_scenario")


class CaseForm(forms.Form):
    id = forms.SlugField(label="Case id", max_length=120, help_text="Lowercase letters, digits and hyphens, e.g. chest-pain-02.")
    title = forms.CharField(max_length=300)
    setting = forms.CharField(max_length=300, help_text="Where and when, e.g. 'Emergency department, 02:00'.")
    age = forms.FloatField(min_value=0, max_value=125, required=False)
    sex = forms.ChoiceField(choices=[(s, s.title()) for s in SEXES])
    chief_complaint = forms.CharField(max_length=300)
    opening_statement = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}),
                                        help_text="What the patient says first, in their own words.")
    history = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), required=False,
        help_text="One fact per line as 'topic: text', e.g. 'onset: It started an hour ago [key]'. "
                  "Add [key] for facts a good history must find and [negative] for pertinent negatives. "
                  "Topics are the interview labels (onset, location, character, radiation, severity, ...).")
    past_medical_history = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text=_LINES_HELP)
    medications = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text=_LINES_HELP)
    allergies = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text=_LINES_HELP)
    family_history = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text=_LINES_HELP)
    social_history = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False,
        help_text="'topic: text' per line; topics: smoking, alcohol, recreational_drugs, occupation, "
                  "living_situation, travel, sexual_history, diet_exercise.")
    examination = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False,
        help_text="'system: finding' per line, e.g. 'cardiovascular: Heart sounds normal [normal]'. Add [key] to "
                  "findings a good examination must find, [abnormal] or [normal] to mark them.")
    tests = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False,
        help_text="'name | category | cost | turnaround minutes | needed (yes/no) | result' per line, optionally "
                  "'| synonyms, comma-separated'. Categories: " + ", ".join(TEST_CATEGORIES) + ".")
    diagnosis = forms.CharField(max_length=300)
    diagnosis_synonyms = forms.CharField(max_length=2000, required=False, help_text="Comma-separated.")
    differential = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                   help_text="One per line, optionally 'name | synonym, synonym'.")
    critical_actions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False,
        help_text="'id | description | deadline minutes (optional) | action' per line; the action is an "
                  "intervention code (e.g. epinephrine_im), a test name or an examination system.")
    teaching_points = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text=_LINES_HELP)
    expert_path = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  help_text="The steps an expert takes, in order, one per line.")
    physiology_scenario = forms.ChoiceField(
        required=False, choices=[("", "None (no evolving vital signs)")] + [(k, v.title) for k, v in SCENARIOS.items()])

    # Form field for each top-level key of the case mapping (to place validation problems).
    FIELD_FOR_KEY = {"demographics": "age", "vitals": "examination", "review_of_systems": "history",
                     "ideas_concerns_expectations": "history", "obstetric_gynecologic": "history",
                     "surgical_history": "past_medical_history"}

    def to_case_data(self) -> dict[str, Any]:
        """The case mapping; line-level problems are added to the form as errors."""
        d = self.cleaned_data
        data: dict[str, Any] = {
            "id": d["id"], "title": d["title"], "setting": d["setting"],
            "demographics": {"age": d.get("age"), "sex": d["sex"]},
            "chief_complaint": d["chief_complaint"], "opening_statement": d["opening_statement"],
            "diagnosis": {"name": d["diagnosis"],
                          "synonyms": [s.strip() for s in d.get("diagnosis_synonyms", "").split(",") if s.strip()]},
        }
        history = []
        for n, line in enumerate(_lines(d.get("history", "")), 1):
            topic, sep, text = line.partition(":")
            if not sep or not text.strip():
                self.add_error("history", f"line {n}: write it as 'topic: text'")
                continue
            fact = _fact(text.strip())
            history.append({"topic": topic.strip(), **(fact if isinstance(fact, dict) else {"text": fact})})
        if history:
            data["history"] = history
        for name in ("past_medical_history", "medications", "allergies", "family_history"):
            if _lines(d.get(name, "")):
                data[name] = [_fact(line) for line in _lines(d[name])]
        social: dict[str, list[Any]] = {}
        for n, line in enumerate(_lines(d.get("social_history", "")), 1):
            topic, sep, text = line.partition(":")
            if not sep or not text.strip():
                self.add_error("social_history", f"line {n}: write it as 'topic: text'")
                continue
            social.setdefault(topic.strip(), []).append(_fact(text.strip()))
        if social:
            data["social_history"] = social
        exam: dict[str, list[Any]] = {}
        for n, line in enumerate(_lines(d.get("examination", "")), 1):
            system, sep, text = line.partition(":")
            if not sep or not text.strip():
                self.add_error("examination", f"line {n}: write it as 'system: finding'")
                continue
            body, key, _ = _flags(text.strip())
            abnormal = re.search(r"\[(ab)?normal\]", body, re.I)
            body = re.sub(r"\s*\[(ab)?normal\]\s*", " ", body, flags=re.I).strip()
            finding: dict[str, Any] = {"text": body}
            if key:
                finding["key"] = True
            if abnormal:
                finding["abnormal"] = abnormal.group(1) is not None
            exam.setdefault(system.strip().lower(), []).append(finding)
        if exam:
            data["examination"] = exam
        tests = []
        for n, line in enumerate(_lines(d.get("tests", "")), 1):
            parts = [p.strip() for p in line.split("|")]
            if len(parts) not in (6, 7):
                self.add_error("tests", f"line {n}: needs 6 parts separated by | (name | category | cost | "
                                        "turnaround minutes | needed | result), and optionally synonyms")
                continue
            name, category, cost, tat, needed, result = parts[:6]
            synonyms = [x.strip() for x in parts[6].split(",") if x.strip()] if len(parts) == 7 else []
            try:
                cost_value, tat_value = float(cost or 0), int(float(tat or 0))
            except ValueError:
                self.add_error("tests", f"line {n}: cost and turnaround must be numbers")
                continue
            tests.append({"name": name, "category": category.lower(), "cost": cost_value,
                          "turnaround_minutes": tat_value, "needed": needed.lower() in ("yes", "y", "true", "1"),
                          "result": result, "synonyms": synonyms})
        if tests:
            data["tests"] = tests
        differential = []
        for line in _lines(d.get("differential", "")):
            name, _, synonyms = line.partition("|")
            entry: dict[str, Any] = {"name": name.strip()}
            if synonyms.strip():
                entry["synonyms"] = [x.strip() for x in synonyms.split(",") if x.strip()]
            differential.append(entry)
        if differential:
            data["differential"] = differential
        actions = []
        for n, line in enumerate(_lines(d.get("critical_actions", "")), 1):
            parts = [p.strip() for p in line.split("|")]
            if len(parts) < 2 or len(parts) > 4:
                self.add_error("critical_actions", f"line {n}: write it as 'id | description | deadline | action'")
                continue
            parts += [""] * (4 - len(parts))
            try:
                deadline = int(parts[2]) if parts[2] else None
            except ValueError:
                self.add_error("critical_actions", f"line {n}: the deadline must be a whole number of minutes")
                continue
            actions.append({"id": parts[0], "description": parts[1], "deadline_minutes": deadline,
                            "intervention": parts[3] or None})
        if actions:
            data["critical_actions"] = actions
        for name in ("teaching_points", "expert_path"):
            if _lines(d.get(name, "")):
                data[name] = _lines(d[name])
        if d.get("physiology_scenario"):
            data["physiology_scenario"] = d["physiology_scenario"]
        data["source"] = "Authored in medtutor"
        return data

    def add_problems(self, problems: list[str]) -> None:
        for problem in problems:
            location, _, message = problem.partition(": ")
            key = re.split(r"[.\[]", location, maxsplit=1)[0]
            field = self.FIELD_FOR_KEY.get(key, key)
            if field == "diagnosis" or location.startswith("diagnosis.synonyms"):
                field = "diagnosis_synonyms" if "synonyms" in location else "diagnosis"
            if field not in self.fields:
                self.add_error(None, problem)
            else:
                self.add_error(field, f"{location}: {message}" if message else problem)

    @staticmethod
    def initial_from(data: dict[str, Any]) -> dict[str, Any]:
        demo = data.get("demographics", {})
        initial: dict[str, Any] = {
            "id": data["id"], "title": data["title"], "setting": data["setting"], "age": demo.get("age"),
            "sex": demo.get("sex", "unknown"), "chief_complaint": data["chief_complaint"],
            "opening_statement": data["opening_statement"], "diagnosis": data["diagnosis"]["name"],
            "diagnosis_synonyms": ", ".join(data["diagnosis"].get("synonyms", [])),
            "physiology_scenario": data.get("physiology_scenario") or "",
        }
        initial["history"] = "\n".join(f"{f['topic']}: {_fact_line(f)}" for f in data.get("history", []))
        for name in ("past_medical_history", "medications", "allergies", "family_history"):
            initial[name] = "\n".join(_fact_line(f) for f in data.get(name, []))
        initial["social_history"] = "\n".join(f"{topic}: {_fact_line(f)}" for topic, facts in
                                              data.get("social_history", {}).items() for f in facts)
        initial["examination"] = "\n".join(
            f"{system}: {f if isinstance(f, str) else _finding_line(f)}"
            for system, findings in data.get("examination", {}).items() for f in findings)
        initial["tests"] = "\n".join(
            f"{t['name']} | {t['category']} | {t['cost']:g} | {t['turnaround_minutes']} | "
            f"{'yes' if t['needed'] else 'no'} | {t['result']}"
            + (f" | {', '.join(t['synonyms'])}" if t.get("synonyms") else "") for t in data.get("tests", []))
        initial["differential"] = "\n".join(
            d["name"] + (f" | {', '.join(d['synonyms'])}" if d.get("synonyms") else "")
            for d in data.get("differential", []))
        initial["critical_actions"] = "\n".join(
            f"{a['id']} | {a['description']} | {a.get('deadline_minutes') or ''} | {a.get('intervention') or ''}"
            for a in data.get("critical_actions", []))
        initial["teaching_points"] = "\n".join(data.get("teaching_points", []))
        initial["expert_path"] = "\n".join(data.get("expert_path", []))
        return initial


class CaseFileForm(forms.Form):
    KINDS = [("medtutor", "medtutor case file (YAML or JSON; all or nothing)"),
             ("agentclinic", "AgentClinic OSCE collection (JSONL: MedQA or NEJM shape)"),
             ("craftmd", "CRAFT-MD vignettes (CSV)")]
    kind = forms.ChoiceField(choices=KINDS, initial="medtutor", label="Format")
    file = forms.FileField(required=False, help_text="A .yaml, .yml, .json, .jsonl or .csv file.")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}), required=False,
                           label="Or paste the file", max_length=MAX_UPLOAD_BYTES)
    skip_invalid = forms.BooleanField(
        required=False, label="For a collection: import the valid records and skip the reported ones",
        help_text="Without this, a collection with any invalid record imports nothing.")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("file")
        if upload is not None:
            if upload.size > MAX_UPLOAD_BYTES:
                raise forms.ValidationError("The file is larger than 20 MB.")
            data["text"] = upload.read().decode("utf-8", errors="replace")
            data["filename"] = upload.name
        elif not (data.get("text") or "").strip():
            raise forms.ValidationError("Choose a file or paste its contents.")
        else:
            data["filename"] = "pasted text"
        return data


class AssignForm(forms.Form):
    cohort = forms.ModelChoiceField(queryset=None, empty_label=None)
    osce_mode = forms.BooleanField(required=False, label="OSCE station (checklist and time limit; ends at the limit)")

    def __init__(self, *args: Any, cohorts: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cohort"].queryset = cohorts


class OsceForm(forms.Form):
    time_limit_minutes = forms.IntegerField(min_value=1, max_value=240, required=False,
                                            help_text="Real minutes; the session ends at the limit.")
    checklist = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False,
                                help_text="The examiner's checklist, one item per line.")


class OverrideForm(forms.Form):
    score = forms.FloatField(min_value=0, max_value=100, label="Score (0-100)")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
