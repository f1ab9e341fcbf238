"""The debrief engine on hand-made timelines."""

from pathlib import Path

import pytest

from medtutor.simulation.engine import scoring
from medtutor.simulation.engine.case import load_case, load_case_file

E = scoring.TimelineEvent
DEMO = Path(__file__).resolve().parents[3] / "demo" / "cases"

CASE = {
    "id": "cough-01", "title": "Cough", "setting": "Clinic", "demographics": {"age": 50, "sex": "female"},
    "chief_complaint": "cough", "opening_statement": "I've had a cough for weeks.",
    "history": [
        {"topic": "onset", "text": "It started three weeks ago.", "key": True},
        {"topic": "character", "text": "I cough up green phlegm.", "key": True},
        {"topic": "associated_symptoms", "text": "No blood in it.", "negative": True, "key": True},
        {"topic": "severity", "text": "It keeps me awake."},
    ],
    "social_history": {"smoking": {"text": "I smoke 20 a day", "key": True}},
    "examination": {"respiratory": [{"text": "Crackles at the right base", "abnormal": True, "key": True}],
                    "cardiovascular": ["Normal heart sounds"]},
    "tests": [
        {"name": "Chest X-ray", "category": "imaging", "result": "Right lower lobe consolidation", "cost": 60,
         "turnaround_minutes": 30, "needed": True, "synonyms": ["CXR"]},
        {"name": "Full blood count", "category": "lab", "result": "WCC 14", "cost": 8, "turnaround_minutes": 30,
         "needed": True, "synonyms": ["FBC"]},
        {"name": "CT chest", "category": "imaging", "result": "Consolidation", "cost": 250, "needed": False},
    ],
    "diagnosis": {"name": "Community-acquired pneumonia", "synonyms": ["CAP", "pneumonia"]},
    "differential": [{"name": "Lung cancer", "synonyms": ["bronchial carcinoma"]}, "Tuberculosis"],
    "critical_actions": [
        {"id": "cxr", "description": "Chest X-ray", "deadline_minutes": 30, "intervention": "Chest X-ray"},
        {"id": "abx", "description": "Antibiotics", "deadline_minutes": 60, "intervention": "antibiotics"},
        {"id": "o2", "description": "Oxygen", "deadline_minutes": 5, "intervention": "oxygen"},
    ],
    "teaching_points": ["Use CURB-65."],
    "expert_path": ["Chest X-ray", "Examine the respiratory system", "Broad-spectrum IV antibiotics", "Sputum culture"],
}


@pytest.fixture
def case():
    return load_case(CASE)


def test_hand_made_timeline(case):
    events = [
        E(0, "question", "when did it start", fact_ids=("history-0",)),
        E(1, "question", "do you smoke", fact_ids=("social-smoking-0",)),
        E(2, "question", "what colour", fact_ids=("history-1",)),
        E(3, "question", "again, when?", fact_ids=("history-0",)),
        E(4, "exam", "respiratory"),
        E(6, "test", "CXR"),                     # synonym of a needed test, in time
        E(7, "test", "CT chest"),                # unneeded
        E(8, "test", "serum unicorn"),           # not in the case
        E(20, "intervention", "oxygen"),         # late: deadline 5
        E(90, "diagnosis", "pnemonia", differential=("lung cancer", "asthma")),
    ]
    d = scoring.score(case, events)
    assert (d.history.done, d.history.total) == (3, 4)
    assert [i.text for i in d.history.items if not i.elicited] == ["No blood in it."]
    assert (d.examination.done, d.examination.total) == (1, 1)      # only the system with key findings
    assert [t.name for t in d.tests.needed_ordered] == ["Chest X-ray"]
    assert [t.name for t in d.tests.needed_missed] == ["Full blood count"]
    assert {t.name for t in d.tests.unneeded} == {"CT chest", "serum unicorn"}
    assert d.tests.total_cost == 310
    assert {a.id: a.status for a in d.critical_actions} == {"cxr": "done", "abx": "missed", "o2": "late"}
    assert d.diagnosis.correct and d.diagnosis.correct_rank == 1            # misspelt, still matched
    assert d.diagnosis.differential_considered == ("Lung cancer",)
    assert d.diagnosis.differential_missed == ("Tuberculosis",)
    assert [s.done for s in d.expert_path] == [True, True, False, False]
    assert d.time_minutes == 90 and d.questions_asked == 4
    parts = {c.name: c for c in d.components}
    assert parts["history"].score == pytest.approx(0.75)
    assert parts["tests"].score == pytest.approx(0.5 - 2 * scoring.UNNEEDED_TEST_PENALTY)
    assert parts["critical_actions"].score == pytest.approx((1 + scoring.LATE_ACTION_CREDIT) / 3)
    assert parts["diagnosis"].score == pytest.approx(0.8 + 0.2 * 0.5)
    expected = sum(c.score * c.weight for c in d.components) * 100
    assert d.overall == pytest.approx(expected, abs=0.05)
    assert sum(c.weight for c in d.components) == pytest.approx(1.0)
    assert 0 < d.confidence <= 1 and d.reasons and d.teaching_points == ("Use CURB-65.",)


def test_wrong_diagnosis_ranked_second_and_nothing_else(case):
    d = scoring.score(case, [E(5, "diagnosis", "lung cancer", differential=("CAP",))])
    assert not d.diagnosis.correct and d.diagnosis.correct_rank == 2
    assert d.diagnosis.matched == "Lung cancer"
    assert {a.status for a in d.critical_actions} == {"missed"}
    assert d.overall < 25


def test_no_diagnosis_scores_zero_for_it(case):
    d = scoring.score(case, [])
    assert d.diagnosis is None
    assert {c.name: c.score for c in d.components}["diagnosis"] == 0
    assert d.overall == 0


def test_negated_diagnosis_is_not_accepted(case):
    d = scoring.score(case, [E(1, "diagnosis", "not pneumonia")])
    assert not d.diagnosis.correct


def test_history_case_without_actions_rescales_weights():
    history_case = load_case({k: v for k, v in CASE.items() if k not in ("critical_actions", "tests")})
    d = scoring.score(history_case, [E(1, "diagnosis", "community acquired pneumonia")])
    names = {c.name for c in d.components}
    assert "critical_actions" not in names and "tests" not in names
    assert sum(c.weight for c in d.components) == pytest.approx(1.0)


@pytest.mark.parametrize("path", sorted(DEMO.glob("*.yaml")), ids=lambda p: p.stem)
def test_expert_path_of_each_demo_case_scores_well(path):
    """Following each demo case's own critical actions in time, with the right diagnosis, scores high."""
    case = load_case_file(path)[0]
    events = [E(0, "question", "history", fact_ids=tuple(f.id for f in case.key_facts()))]
    events += [E(1, "exam", system) for system in case.exam_systems()]
    for action in case.critical_actions:
        minute = max(0, (action.deadline_minutes or 10) - 1)
        kind = "test" if case.test(action.intervention or "") else (
            "exam" if action.intervention in case.exam_systems() else "intervention")
        events.append(E(minute, kind, action.intervention or ""))
    events += [E(2, "test", t.name) for t in case.tests if t.needed]
    events.append(E(200, "diagnosis", case.diagnosis.synonyms[0] if case.diagnosis.synonyms else case.diagnosis.name,
                    differential=tuple(d.name for d in case.differential)))
    d = scoring.score(case, events)
    assert all(a.status == "done" for a in d.critical_actions), d.critical_actions
    assert d.diagnosis.correct
    assert d.overall >= 90, d.reasons


def test_expert_steps_in_a_to_e_terms_match_the_examinations_that_cover_them():
    case = load_case_file(DEMO / "anaphylaxis-peanut.yaml")[0]
    d = scoring.score(case, [E(0, "exam", "vitals"), E(1, "intervention", "epinephrine_im")])
    steps = {s.text: s.done for s in d.expert_path}
    assert steps["Examine airway, breathing, circulation"] and steps["Epinephrine 0.5 mg IM"]
    assert not steps["Crystalloid 500 ml bolus"]
