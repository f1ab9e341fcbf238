"""A small original case shared by the interview-engine tests."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def doc_example_yaml() -> str:
    """The example case in docs/virtual-patient-format.md (so the documented format stays valid)."""
    text = (ROOT / "docs" / "virtual-patient-format.md").read_text(encoding="utf-8")
    return text.split("```yaml\n", 1)[1].split("```", 1)[0]


ASTHMA_YAML = """
id: asthma-01
title: Wheeze in a student
setting: Emergency department
demographics: {age: 19, sex: female}
chief_complaint: shortness of breath
opening_statement: "I can't get my breath, it's getting worse."
history:
  - {topic: onset, text: "It started last night after I went to a party with smokers.", key: true}
  - {topic: relieving, text: "My blue inhaler helped a little at first but not now."}
  - {topic: prior_episodes, text: "I had an attack like this two years ago and went to hospital."}
  - {topic: ros_constitutional, text: "No fever.", negative: true}
past_medical_history: ["Asthma since childhood"]
medications: ["Salbutamol inhaler when needed", "Beclometasone inhaler twice a day"]
allergies: [{text: "No allergies.", negative: true}]
family_history: ["My mum has eczema."]
social_history:
  smoking: {text: "Non-smoker", negative: true}
  alcohol: "She drinks about six units at the weekend."
  occupation: "Works part time in a cafe while studying."
review_of_systems:
  respiratory:
    positives: ["Wheezy and tight chest", "Dry cough at night"]
    negatives: ["No coughing up blood"]
  cardiovascular:
    negatives: ["No chest pain", "No leg swelling"]
examination:
  vitals: ["HR 122, RR 30, SpO2 91% on air"]
  respiratory: [{text: "Widespread expiratory wheeze", abnormal: true, key: true}]
tests:
  - {name: Peak flow, category: bedside, result: "40% of best", cost: 1, turnaround_minutes: 1, needed: true, synonyms: [PEFR]}
diagnosis: {name: Acute severe asthma, synonyms: [asthma attack]}
differential: [Anaphylaxis, Pneumothorax]
critical_actions:
  - {id: nebuliser, description: "Oxygen-driven salbutamol nebuliser", deadline_minutes: 10, intervention: bronchodilator}
physiology_scenario: acute_severe_asthma
"""
