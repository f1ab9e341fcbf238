"""The item editor: a plain form turned into the same ItemRecord an importer makes."""

from __future__ import annotations

from typing import Any

from django import forms

from medtutor.content.importers import records as rec
from medtutor.content.models import Competency, Difficulty, Discipline, Item, ItemQuerySet, LearningObjective

MAX_OPTIONS = 10
MAX_IMAGE_BYTES = 5 * 1024 * 1024
LETTERS = "ABCDEFGHIJ"


class ItemForm(forms.Form):
    external_id = forms.CharField(label="Item id", max_length=200,
                                  help_text="A stable id, unique in the bank (e.g. cardio-hf-012).")
    stem = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=20000,
                           help_text="The vignette. Plain text; it is shown exactly as written.")
    lead_in = forms.CharField(label="Lead-in", max_length=1000,
                              help_text="The question itself, e.g. 'Which of the following is the most likely diagnosis?'")
    key = forms.TypedChoiceField(label="Correct option", coerce=int,
                                 choices=[(i, LETTERS[i]) for i in range(MAX_OPTIONS)])
    explanation = forms.CharField(label="Teaching point", required=False, max_length=20000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    competency = forms.ModelChoiceField(queryset=Competency.objects.all(), required=False, to_field_name="code")
    discipline = forms.ModelChoiceField(queryset=Discipline.objects.all(), required=False, to_field_name="code")
    objective = forms.ModelChoiceField(label="Learning objective", queryset=LearningObjective.objects.all(),
                                       required=False, to_field_name="code")
    tags = forms.CharField(required=False, max_length=500, help_text="Separated by commas.")
    difficulty = forms.ChoiceField(choices=[("", "Not rated"), *Difficulty.choices], required=False)
    source = forms.CharField(required=False, max_length=200)
    licence = forms.CharField(required=False, max_length=100)
    image = forms.ImageField(required=False, help_text="Optional PNG, JPEG or WebP, up to 5 MB (an ECG, an X-ray, a rash).")
    remove_image = forms.BooleanField(label="Remove the current image", required=False)
    change_note = forms.CharField(label="What changed", required=False, max_length=300,
                                  help_text="Shown in the version history.")

    def __init__(self, *args: Any, item: Item | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.item = item
        for i in range(MAX_OPTIONS):
            letter = LETTERS[i]
            self.fields[f"option_{i}"] = forms.CharField(label=f"Option {letter}", required=False, max_length=2000)
            self.fields[f"option_{i}_explanation"] = forms.CharField(
                label=f"Why {letter} is right or wrong", required=False, max_length=5000,
                widget=forms.Textarea(attrs={"rows": 2}))
        if item is not None:
            self.fields["external_id"].disabled = True
        else:
            self.fields["change_note"].widget = forms.HiddenInput()

    def option_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [(LETTERS[i], self[f"option_{i}"], self[f"option_{i}_explanation"]) for i in range(MAX_OPTIONS)]

    @classmethod
    def initial_for(cls, item: Item) -> dict[str, Any]:
        version = item.current_version
        initial: dict[str, Any] = {
            "external_id": item.external_id, "stem": version.stem, "lead_in": version.lead_in,
            "key": version.key_index, "explanation": version.explanation,
            "competency": item.competency.code if item.competency else None,
            "discipline": item.discipline.code if item.discipline else None,
            "objective": version.objective.code if version.objective else None,
            "tags": ", ".join(sorted(t.slug for t in item.tags.all())),
            "difficulty": item.difficulty, "source": item.source, "licence": item.licence,
        }
        for i, option in enumerate(version.options):
            initial[f"option_{i}"] = option["text"]
            initial[f"option_{i}_explanation"] = option.get("explanation", "")
        return initial

    def clean_image(self) -> Any:
        image = self.cleaned_data.get("image")
        if image and image.size > MAX_IMAGE_BYTES:
            raise forms.ValidationError(f"The image is {image.size / 1e6:.1f} MB; the limit is 5 MB.")
        if image and getattr(image, "image", None) is not None and image.image.format not in ("PNG", "JPEG", "WEBP", "GIF"):
            raise forms.ValidationError("Use a PNG, JPEG, WebP or GIF image.")
        return image

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        filled = [i for i in range(MAX_OPTIONS) if (data.get(f"option_{i}") or "").strip()]
        # Options must be filled from A without gaps, so letters mean the same thing everywhere.
        if filled and filled != list(range(len(filled))):
            raise forms.ValidationError("Fill the options in order from A, without empty rows between them.")
        key = data.get("key")
        if key is not None and filled and key >= len(filled):
            self.add_error("key", f"The correct option must be one of A to {LETTERS[len(filled) - 1]}.")
        return data

    def to_record(self) -> rec.ItemRecord:
        data = self.cleaned_data
        count = sum(1 for i in range(MAX_OPTIONS) if (data.get(f"option_{i}") or "").strip())
        return rec.ItemRecord(
            external_id=self.item.external_id if self.item else data["external_id"].strip(),
            stem=data["stem"].strip(),
            lead_in=data["lead_in"].strip(),
            options=tuple(rec.OptionRecord(data[f"option_{i}"].strip(), (data.get(f"option_{i}_explanation") or "").strip())
                          for i in range(count)),
            key=data["key"],
            explanation=(data.get("explanation") or "").strip(),
            competency=data["competency"].code if data.get("competency") else None,
            discipline=data["discipline"].code if data.get("discipline") else None,
            objective=data["objective"].code if data.get("objective") else None,
            tags=tuple(t.strip() for t in (data.get("tags") or "").split(",") if t.strip()),
            difficulty=data.get("difficulty") or None,
            source=(data.get("source") or "").strip(),
            licence=(data.get("licence") or "").strip(),
        )


class ImportForm(forms.Form):
    FORMAT_CHOICES = [("", "Detect from the file"), ("medtutor", "medtutor JSONL"), ("moodlexml", "Moodle XML"),
                      ("gift", "GIFT"), ("csv", "CSV"), ("medqa", "MedQA-USMLE JSONL"),
                      ("medmcqa", "MedMCQA JSONL"), ("pubmedqa", "PubMedQA JSONL"), ("qti", "IMS QTI 2.1 (zip or XML)")]
    file = forms.FileField()
    format = forms.ChoiceField(choices=FORMAT_CHOICES, required=False)


class BankFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    competency = forms.ModelChoiceField(queryset=Competency.objects.all(), required=False, to_field_name="code")
    tag = forms.CharField(required=False, max_length=60)
    difficulty = forms.ChoiceField(choices=[("", "Any"), *Difficulty.choices], required=False)
    source = forms.CharField(required=False, max_length=200)


def filtered_items(params: Any) -> tuple[BankFilterForm, ItemQuerySet]:
    """The bank narrowed by the search box and filters; shared by the bank page, export and the API."""
    form = BankFilterForm(params or None)
    items = Item.objects.active().select_related("competency", "discipline", "current_version")
    if form.is_valid():
        data = form.cleaned_data
        if data.get("q"):
            items = items.search(data["q"])
        if data.get("competency"):
            items = items.in_competency(data["competency"])
        if data.get("tag"):
            items = items.filter(tags__slug=data["tag"].strip().lower())
        if data.get("difficulty"):
            items = items.filter(difficulty=data["difficulty"])
        if data.get("source"):
            items = items.filter(source=data["source"])
    return form, items
