"""The five clinical teaching datasets: column specifications, CSV loading and input validation.

Pure: no Django. Each dataset is described once (`DatasetSpec`): its outcome column, its features with
units and plausible ranges, which zeros mean "missing", which columns are subgroup attributes and which
are known to leak the outcome. Loading validates the whole file and reports every problem with its line
number before anything is returned; predictions validate one patient's values against the same ranges.

Sources of the column meanings: the README of each folder in ../shared/data/clinical/ (UCI ids 45, 17,
519, 336 and the Pima database). Plausible ranges are physiological bounds chosen for teaching (wide on
purpose, e.g. systolic BP 50-260 mm Hg), not the min/max of the data.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MIN_TRAIN_ROWS = 60
MIN_ROWS_PER_CLASS = 15


class DataError(ValueError):
    """A file or a patient's values that cannot be used; `problems` names each field (and line)."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message + (": " + "; ".join(problems[:8]) if problems else ""))
        self.message = message
        self.problems = problems


@dataclass(frozen=True)
class Feature:
    name: str
    label: str
    unit: str = ""
    kind: str = "numeric"  # numeric | binary | categorical
    low: float | None = None  # plausible range (inclusive); None = unbounded
    high: float | None = None
    levels: dict[str, float] | None = None  # text value -> code, for text-coded columns
    zero_means_missing: bool = False
    required: bool = True  # for the "predict one patient" form; optional ones may be left blank
    step: str = "any"

    def range_text(self) -> str:
        if self.levels:
            return "one of " + ", ".join(self.levels)
        if self.kind == "binary":
            return "0 or 1"
        unit = f" {self.unit}" if self.unit else ""
        return f"{_fmt(self.low)}–{_fmt(self.high)}{unit}"

    def choices(self) -> list[tuple[str, str]]:
        if self.levels:
            return [(str(_fmt(code)), text) for text, code in self.levels.items()]
        return []


def _fmt(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class SubgroupSpec:
    attribute: str  # a column of the CSV (feature or not)
    label: str
    bands: tuple[float, ...] = ()  # cut points for a numeric attribute (age bands)
    names: dict[str, str] | None = None  # code -> readable name


@dataclass(frozen=True)
class DatasetSpec:
    key: str
    title: str
    outcome: str
    outcome_label: str
    features: tuple[Feature, ...]
    extra_columns: tuple[str, ...] = ()  # known columns that are not features (labels, site, ...)
    subgroups: tuple[SubgroupSpec, ...] = ()
    leaking: dict[str, str] = field(default_factory=dict)  # column -> why it leaks (excluded by default)
    site_column: str | None = None
    population: str = ""
    limitations: str = ""
    source: str = ""

    def feature(self, name: str) -> Feature:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def default_features(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features if f.name not in self.leaking)


def _num(name, label, unit, low, high, **kw) -> Feature:
    return Feature(name, label, unit, "numeric", low, high, **kw)


def _bin(name, label, **kw) -> Feature:
    return Feature(name, label, "", "binary", 0, 1, **kw)


YES_NO = {"no": 0.0, "yes": 1.0}

PIMA = DatasetSpec(
    key="pima_diabetes", title="Pima diabetes", outcome="outcome", outcome_label="diabetes (WHO criteria)",
    features=(
        _num("pregnancies", "Number of pregnancies", "count", 0, 20, step="1"),
        _num("glucose", "Plasma glucose 2 h into an OGTT", "mg/dL", 40, 400, zero_means_missing=True),
        _num("diastolic_bp", "Diastolic blood pressure", "mm Hg", 30, 150, zero_means_missing=True),
        _num("triceps_skinfold", "Triceps skin-fold thickness", "mm", 3, 100, zero_means_missing=True,
             required=False),
        _num("insulin", "2-hour serum insulin", "µU/mL", 5, 1000, zero_means_missing=True, required=False),
        _num("bmi", "Body-mass index", "kg/m²", 12, 80, zero_means_missing=True),
        _num("diabetes_pedigree", "Diabetes pedigree function", "", 0, 3),
        _num("age", "Age", "years", 18, 100, step="1"),
    ),
    subgroups=(SubgroupSpec("age", "Age band", (30, 50)),),
    population="Women aged 21 or more from one Indigenous community in Arizona (Akimel O'odham), NIDDK study.",
    limitations="All participants are women from one community: no sex or ethnicity audit is possible and the "
                "model says nothing about other populations. Zeros in five columns mean 'not measured'.",
    source="NIDDK Pima Indians Diabetes Database (Smith et al., Proc SCAMC 1988).",
)

WDBC = DatasetSpec(
    key="breast_cancer_wdbc", title="Breast cancer (WDBC)", outcome="malignant", outcome_label="malignant mass",
    features=tuple(
        _num(f"{prefix}{stem}{suffix}", f"{stem.replace('_', ' ')} ({kind})", "", 0, high)
        for stem, high in (("radius", 60), ("texture", 80), ("perimeter", 400), ("area", 6000),
                           ("smoothness", 1), ("compactness", 2), ("concavity", 2), ("concave_points", 1),
                           ("symmetry", 1), ("fractal_dimension", 1))
        for prefix, suffix, kind in (("mean_", "", "mean"), ("", "_error", "standard error"),
                                     ("worst_", "", "worst"))
    ),
    extra_columns=("diagnosis",),
    population="Fine-needle aspirates of breast masses, University of Wisconsin Hospitals, 1990s.",
    limitations="No age, sex or ethnicity is recorded, so no subgroup audit is possible. Features are computed "
                "from digitised images with one lab's software; they do not transfer to other pipelines.",
    source="UCI ML Repository id 17 (Wolberg, Street, Mangasarian), copy shipped with scikit-learn.",
)

HEART_FAILURE = DatasetSpec(
    key="heart_failure_clinical_records", title="Heart failure survival", outcome="DEATH_EVENT",
    outcome_label="death during follow-up",
    features=(
        _num("age", "Age", "years", 18, 110),
        _bin("anaemia", "Anaemia"),
        _num("creatinine_phosphokinase", "Creatine phosphokinase (CPK)", "mcg/L", 10, 10000),
        _bin("diabetes", "Diabetes"),
        _num("ejection_fraction", "Ejection fraction", "%", 5, 85),
        _bin("high_blood_pressure", "Hypertension"),
        _num("platelets", "Platelets", "per µL", 10000, 1000000),
        _num("serum_creatinine", "Serum creatinine", "mg/dL", 0.2, 15),
        _num("serum_sodium", "Serum sodium", "mEq/L", 100, 170),
        _bin("sex", "Sex (1 = man)"),
        _bin("smoking", "Smoking"),
        _num("time", "Follow-up period", "days", 0, 400, required=False),
    ),
    subgroups=(SubgroupSpec("sex", "Sex", names={"0": "women", "1": "men"}), SubgroupSpec("age", "Age band", (65,)),
               SubgroupSpec("smoking", "Smoking", names={"0": "non-smokers", "1": "smokers"})),
    leaking={"time": "follow-up period in days: it ends at death, so it is short for those who died — it is "
                     "measured after the outcome and is not known when the prediction would be made"},
    population="Adults with LV systolic dysfunction (NYHA III–IV), Faisalabad, Pakistan, 2015 (Ahmad et al. 2017).",
    limitations="231 patients from two hospitals in one city; follow-up up to 9 months. The `time` column leaks "
                "the outcome and is excluded.",
    source="Chicco & Jurman, BMC Med Inform Decis Mak 2020;20:16; UCI id 519.",
)

HEART_DISEASE = DatasetSpec(
    key="heart_disease_uci", title="Heart disease (4 hospitals)", outcome="target",
    outcome_label="angiographic coronary disease (>50% narrowing)",
    features=(
        _num("age", "Age", "years", 18, 100, step="1"),
        _bin("sex", "Sex (1 = male)"),
        Feature("cp", "Chest pain type", kind="categorical",
                levels={"typical angina": 1, "atypical angina": 2, "non-anginal pain": 3, "asymptomatic": 4}),
        _num("trestbps", "Resting systolic blood pressure", "mm Hg", 60, 260),
        _num("chol", "Serum cholesterol", "mg/dL", 80, 700, zero_means_missing=True, required=False),
        _bin("fbs", "Fasting blood sugar > 120 mg/dL", required=False),
        Feature("restecg", "Resting ECG", kind="categorical",
                levels={"normal": 0, "ST-T abnormality": 1, "LV hypertrophy": 2}),
        _num("thalach", "Maximum heart rate achieved", "beats/min", 50, 230),
        _bin("exang", "Exercise-induced angina"),
        _num("oldpeak", "ST depression on exercise", "mm", -3, 7),
        Feature("slope", "Peak exercise ST slope", kind="categorical", required=False,
                levels={"upsloping": 1, "flat": 2, "downsloping": 3}),
        _num("ca", "Vessels coloured by fluoroscopy", "count", 0, 3, required=False, step="1"),
        Feature("thal", "Thallium scintigraphy", kind="categorical", required=False,
                levels={"normal": 3, "fixed defect": 6, "reversible defect": 7}),
    ),
    extra_columns=("site", "num"),
    subgroups=(SubgroupSpec("sex", "Sex", names={"0": "female", "1": "male"}),
               SubgroupSpec("age", "Age band", (50, 60)), SubgroupSpec("site", "Site")),
    site_column="site",
    population="Adults referred for coronary angiography at Cleveland, Budapest, Zurich/Basel and Long Beach VA, "
               "1980s.",
    limitations="Referral population (high prevalence, varying by site from 0.38 to 0.94); ca, thal and slope are "
                "mostly missing outside Cleveland; only 21% women. Principal investigators: Janosi, Steinbrunn, "
                "Pfisterer, Detrano.",
    source="UCI ML Repository id 45 (Detrano et al., Am J Cardiol 1989;64:304–310).",
)

_PRESENT = {"notpresent": 0.0, "present": 1.0}
_NORMAL = {"normal": 0.0, "abnormal": 1.0}
CKD = DatasetSpec(
    key="chronic_kidney_disease", title="Chronic kidney disease", outcome="ckd", outcome_label="chronic kidney disease",
    features=(
        _num("age", "Age", "years", 1, 100),
        _num("bp", "Blood pressure", "mm Hg", 40, 200),
        _num("sg", "Urine specific gravity", "", 1.0, 1.04, required=False),
        _num("al", "Urine albumin (0–5)", "grade", 0, 5, required=False, step="1"),
        _num("su", "Urine sugar (0–5)", "grade", 0, 5, required=False, step="1"),
        Feature("rbc", "Urine red cells", kind="binary", levels=_NORMAL, required=False),
        Feature("pc", "Pus cells", kind="binary", levels=_NORMAL, required=False),
        Feature("pcc", "Pus-cell clumps", kind="binary", levels=_PRESENT, required=False),
        Feature("ba", "Bacteria", kind="binary", levels=_PRESENT, required=False),
        _num("bgr", "Random blood glucose", "mg/dL", 20, 600, required=False),
        _num("bu", "Blood urea", "mg/dL", 1, 400, required=False),
        _num("sc", "Serum creatinine", "mg/dL", 0.2, 50),
        _num("sod", "Sodium", "mEq/L", 100, 170, required=False),
        _num("pot", "Potassium", "mEq/L", 2, 10, required=False),
        _num("hemo", "Haemoglobin", "g/dL", 3, 20),
        _num("pcv", "Packed cell volume", "%", 5, 65, required=False),
        _num("wbcc", "White cell count", "cells/mm³", 1000, 30000, required=False),
        _num("rbcc", "Red cell count", "millions/mm³", 1.5, 8, required=False),
        Feature("htn", "Hypertension", kind="binary", levels=YES_NO),
        Feature("dm", "Diabetes", kind="binary", levels=YES_NO),
        Feature("cad", "Coronary artery disease", kind="binary", levels=YES_NO, required=False),
        Feature("appet", "Appetite", kind="binary", levels={"good": 0.0, "poor": 1.0}, required=False),
        Feature("pe", "Pedal oedema", kind="binary", levels=YES_NO, required=False),
        Feature("ane", "Anaemia", kind="binary", levels=YES_NO, required=False),
    ),
    extra_columns=("class",),
    subgroups=(SubgroupSpec("age", "Age band", (40, 60)),),
    population="Patients (children included) at Apollo Hospitals, Karaikudi, India, 2015.",
    limitations="Probably case–control sampling (prevalence 0.63), missingness that differs by class and "
                "near-perfect separation: results look too good to be true and would not transfer.",
    source="UCI ML Repository id 336 (Soundarapandian; Rubini & Eswaran 2015).",
)

DATASETS: dict[str, DatasetSpec] = {spec.key: spec for spec in (PIMA, HEART_DISEASE, HEART_FAILURE, WDBC, CKD)}


@dataclass(frozen=True)
class ClinicalData:
    """A validated table. `X` holds floats with NaN for missing, in `features` order (codes for text levels)."""

    spec: DatasetSpec
    features: tuple[str, ...]
    X: np.ndarray
    y: np.ndarray
    columns: dict[str, list[str]]  # every CSV column as read (for subgroups, site, extra columns)
    digest: str  # SHA-256 of the file bytes
    warnings: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    def subset(self, mask: np.ndarray) -> ClinicalData:
        index = np.flatnonzero(mask)
        return ClinicalData(self.spec, self.features, self.X[index], self.y[index],
                            {k: [v[i] for i in index] for k, v in self.columns.items()}, self.digest, self.warnings)

    def column(self, name: str) -> list[str]:
        return self.columns[name]

    def with_features(self, names: tuple[str, ...]) -> ClinicalData:
        positions = [self.features.index(n) for n in names]
        return ClinicalData(self.spec, tuple(names), self.X[:, positions], self.y, self.columns, self.digest,
                            self.warnings)


def _parse_cell(feature: Feature, raw: str) -> float:
    """Text -> float; NaN for blank/'?'. Raises ValueError with a reason for a wrong type or level."""
    text = raw.strip()
    if text in ("", "?", "NA", "nan"):
        return math.nan
    if feature.levels is not None and text in feature.levels:
        return float(feature.levels[text])
    try:
        value = float(text)
    except ValueError:
        if feature.levels:
            raise ValueError(f"'{text}' is not one of {', '.join(feature.levels)}") from None
        raise ValueError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"'{text}' is not a finite number")
    if feature.levels is not None and value not in feature.levels.values():
        raise ValueError(f"{_fmt(value)} is not a known code ({feature.range_text()})")
    if feature.kind == "binary" and feature.levels is None and value not in (0.0, 1.0):
        raise ValueError(f"{_fmt(value)} is not 0 or 1")
    return value


def _out_of_range(feature: Feature, value: float) -> bool:
    if math.isnan(value) or feature.levels is not None or feature.kind != "numeric":
        return False
    return (feature.low is not None and value < feature.low) or (feature.high is not None and value > feature.high)


def read_csv_text(spec: DatasetSpec, text: str, *, digest: str | None = None,
                  features: tuple[str, ...] | None = None, min_rows: int = MIN_TRAIN_ROWS) -> ClinicalData:
    """Parse and validate a whole CSV; raise DataError listing every problem (unknown columns, types, size)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise DataError("the file is empty", ["line 1: no header row"])
    header = [h.strip() for h in header]
    known = set(spec.feature_names) | {spec.outcome} | set(spec.extra_columns)
    problems: list[str] = []
    unknown = [h for h in header if h not in known]
    if unknown:
        problems.append(f"unknown column(s) {', '.join(unknown)} (expected {', '.join(sorted(known))})")
    if len(set(header)) != len(header):
        problems.append("a column name appears twice")
    wanted = features or spec.default_features()
    missing_cols = [c for c in (*wanted, spec.outcome) if c not in header]
    if missing_cols:
        problems.append(f"missing column(s) {', '.join(missing_cols)}")
    if problems:
        raise DataError(f"{spec.title}: the CSV does not have the expected columns", problems)
    position = {h: i for i, h in enumerate(header)}
    rows: list[list[float]] = []
    outcomes: list[float] = []
    columns: dict[str, list[str]] = {h: [] for h in header}
    out_of_range: dict[str, int] = {}
    for line_no, record in enumerate(reader, start=2):
        if not record or all(not cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            problems.append(f"line {line_no}: {len(record)} fields, expected {len(header)}")
            continue
        values: list[float] = []
        for name in wanted:
            feature = spec.feature(name)
            try:
                value = _parse_cell(feature, record[position[name]])
            except ValueError as error:
                problems.append(f"line {line_no}, column {name}: {error}")
                value = math.nan
            if feature.zero_means_missing and value == 0:
                value = math.nan
            if _out_of_range(feature, value):
                out_of_range[name] = out_of_range.get(name, 0) + 1
                value = math.nan
            values.append(value)
        label = record[position[spec.outcome]].strip()
        if label not in ("0", "1", "0.0", "1.0"):
            problems.append(f"line {line_no}, column {spec.outcome}: outcome must be 0 or 1, got '{label}'")
        else:
            outcomes.append(float(label))
            rows.append(values)
            for h in header:
                columns[h].append(record[position[h]].strip())
        if len(problems) > 50:
            problems.append("... (stopped after 50 problems)")
            break
    if problems:
        raise DataError(f"{spec.title}: the CSV has values that cannot be read", problems)
    y = np.asarray(outcomes, dtype=float)
    n_pos = int(y.sum()) if y.size else 0
    if y.size < min_rows or min(n_pos, y.size - n_pos) < min(MIN_ROWS_PER_CLASS, max(2, min_rows // 4)):
        raise DataError(f"{spec.title}: too few rows to train", [
            f"{y.size} rows ({n_pos} with the outcome, {y.size - n_pos} without); need at least {min_rows} rows "
            f"and {min(MIN_ROWS_PER_CLASS, max(2, min_rows // 4))} of each class"])
    warnings = tuple(f"{name}: {count} value(s) outside the plausible range {spec.feature(name).range_text()} "
                     "were treated as missing" for name, count in sorted(out_of_range.items()))
    file_digest = digest or hashlib.sha256(text.encode()).hexdigest()
    return ClinicalData(spec, tuple(wanted), np.asarray(rows, dtype=float).reshape(len(rows), len(wanted)), y,
                        columns, file_digest, warnings)


def load_dataset(data_dir: str | Path, key: str, *, features: tuple[str, ...] | None = None,
                 csv_path: str | Path | None = None) -> ClinicalData:
    """Read `DIR/<key>/<key>.csv` (or an explicit CSV, e.g. a held-out test file) and validate it."""
    if key not in DATASETS:
        raise DataError("unknown dataset", [f"dataset: '{key}' is not one of {', '.join(DATASETS)}"])
    spec = DATASETS[key]
    path = Path(csv_path) if csv_path else Path(data_dir) / key / f"{key}.csv"
    if not path.is_file():
        raise DataError(f"{spec.title}: file not found", [f"{path} does not exist"])
    raw = path.read_bytes()
    return read_csv_text(spec, raw.decode("utf-8-sig"), digest=hashlib.sha256(raw).hexdigest(), features=features,
                         min_rows=MIN_TRAIN_ROWS if csv_path is None else 10)


def available_datasets(data_dir: str | Path) -> list[str]:
    return [key for key in DATASETS if (Path(data_dir) / key / f"{key}.csv").is_file()]


def validate_patient(spec: DatasetSpec, features: tuple[str, ...], raw: dict[str, str | float | None], *,
                     allow_missing: bool = False) -> np.ndarray:
    """One patient's values -> a feature row. DataError names each bad field with its plausible range.
    `allow_missing`: blanks in required fields are imputed (a recorded patient with a missing value)."""
    problems: list[str] = []
    row: list[float] = []
    for name in features:
        feature = spec.feature(name)
        given = raw.get(name)
        text = "" if given is None else str(given).strip()
        described = f"{name} ({feature.label}{', ' + feature.unit if feature.unit else ''})"
        if text == "":
            if feature.required and not allow_missing:
                problems.append(f"{described}: required; plausible range {feature.range_text()}")
            row.append(math.nan)
            continue
        try:
            value = _parse_cell(feature, text)
        except ValueError as error:
            problems.append(f"{described}: {error}; plausible range {feature.range_text()}")
            row.append(math.nan)
            continue
        if feature.zero_means_missing and value == 0:
            problems.append(f"{described}: 0 means 'not measured' in this dataset; leave it blank or enter a value "
                            f"in {feature.range_text()}")
        elif _out_of_range(feature, value):
            problems.append(f"{described}: {_fmt(value)} is outside the plausible range {feature.range_text()}")
        row.append(value)
    if problems:
        raise DataError("please correct the highlighted values", problems)
    return np.asarray(row, dtype=float)
