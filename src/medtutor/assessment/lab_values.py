"""The lab-values reference panel shown during exams: common adult reference intervals.

Written for medtutor. The intervals are typical, rounded adult values of the kind printed in
general references (e.g. Kratz A, Ferraro M, Sluss PM, Lewandrowski KB. Laboratory reference
values. N Engl J Med 2004;351:1548-63; the reference-values appendix of Harrison's Principles of
Internal Medicine). The SI and conventional columns follow the standard conversion factors (for
example creatinine mg/dL x 88.4 = umol/L, glucose mg/dL / 18 = mmol/L, BUN mg/dL x 0.357 = urea mmol/L).
Every laboratory sets its own intervals, so exam items that depend on an exact cut-off should state
it in the stem. For education, not patient care.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LAB_GROUPS", "LabGroup", "LabValue"]


@dataclass(frozen=True, slots=True)
class LabValue:
    name: str
    si: str            # SI units
    conventional: str  # conventional (US) units
    note: str = ""


@dataclass(frozen=True, slots=True)
class LabGroup:
    slug: str
    title: str
    values: tuple[LabValue, ...]


LAB_GROUPS: tuple[LabGroup, ...] = (
    LabGroup("chemistry", "Serum chemistry", (
        LabValue("Sodium", "135–145 mmol/L", "135–145 mEq/L"),
        LabValue("Potassium", "3.5–5.0 mmol/L", "3.5–5.0 mEq/L"),
        LabValue("Chloride", "98–106 mmol/L", "98–106 mEq/L"),
        LabValue("Bicarbonate", "22–28 mmol/L", "22–28 mEq/L"),
        LabValue("Urea (BUN)", "2.5–7.1 mmol/L", "7–20 mg/dL"),
        LabValue("Creatinine", "53–106 µmol/L", "0.6–1.2 mg/dL"),
        LabValue("Glucose, fasting", "3.9–5.6 mmol/L", "70–100 mg/dL"),
        LabValue("Calcium, total", "2.1–2.6 mmol/L", "8.5–10.5 mg/dL"),
        LabValue("Magnesium", "0.70–1.0 mmol/L", "1.7–2.4 mg/dL"),
        LabValue("Phosphate", "0.8–1.5 mmol/L", "2.5–4.5 mg/dL"),
        LabValue("Lactate", "0.5–2.2 mmol/L", "4.5–19.8 mg/dL"),
    )),
    LabGroup("liver", "Liver and proteins", (
        LabValue("Albumin", "35–50 g/L", "3.5–5.0 g/dL"),
        LabValue("Total protein", "60–80 g/L", "6.0–8.0 g/dL"),
        LabValue("Bilirubin, total", "5–21 µmol/L", "0.3–1.2 mg/dL"),
        LabValue("ALT", "0.12–0.93 µkat/L", "7–56 U/L"),
        LabValue("AST", "0.17–0.67 µkat/L", "10–40 U/L"),
        LabValue("Alkaline phosphatase", "0.67–2.17 µkat/L", "40–130 U/L"),
    )),
    LabGroup("haematology", "Haematology and coagulation", (
        LabValue("Haemoglobin", "135–175 g/L (men); 120–155 g/L (women)", "13.5–17.5 g/dL (men); 12.0–15.5 g/dL (women)"),
        LabValue("Haematocrit", "0.41–0.53 (men); 0.36–0.46 (women)", "41–53% (men); 36–46% (women)"),
        LabValue("White cell count", "4.0–11.0 × 10⁹/L", "4,000–11,000 /µL"),
        LabValue("Platelets", "150–400 × 10⁹/L", "150,000–400,000 /µL"),
        LabValue("Mean cell volume", "80–100 fL", "80–100 fL"),
        LabValue("Prothrombin time", "11–13.5 s", "11–13.5 s", "INR 0.8–1.2 off anticoagulants"),
        LabValue("Activated partial thromboplastin time", "25–35 s", "25–35 s"),
    )),
    LabGroup("blood-gas", "Arterial blood gas (breathing room air)", (
        LabValue("pH", "7.35–7.45", "7.35–7.45"),
        LabValue("PaCO₂", "4.7–6.0 kPa", "35–45 mmHg"),
        LabValue("PaO₂", "10.7–13.3 kPa", "80–100 mmHg"),
        LabValue("Bicarbonate", "22–26 mmol/L", "22–26 mEq/L"),
        LabValue("Base excess", "−2 to +2 mmol/L", "−2 to +2 mEq/L"),
    )),
    LabGroup("endocrine", "Endocrine and lipids", (
        LabValue("TSH", "0.4–4.0 mIU/L", "0.4–4.0 µIU/mL"),
        LabValue("Free T4", "12–22 pmol/L", "0.9–1.7 ng/dL"),
        LabValue("HbA1c", "20–42 mmol/mol", "4.0–6.0%"),
        LabValue("Cortisol, morning", "140–690 nmol/L", "5–25 µg/dL"),
        LabValue("Total cholesterol", "< 5.2 mmol/L", "< 200 mg/dL", "desirable"),
        LabValue("LDL cholesterol", "< 3.4 mmol/L", "< 130 mg/dL", "desirable; targets depend on risk"),
        LabValue("HDL cholesterol", "> 1.0 mmol/L", "> 40 mg/dL"),
        LabValue("Triglycerides, fasting", "< 1.7 mmol/L", "< 150 mg/dL"),
        LabValue("C-reactive protein", "< 10 mg/L", "< 1.0 mg/dL"),
    )),
)
