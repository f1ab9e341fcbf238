import json
from collections import Counter

from medtutor.simulation.engine.case import INTENT_LABELS
from medtutor.simulation.engine.intent import KeywordBaseline, classify, load_labelled, normalize_question

# Phrasings written for this test only; none is in the training file.
HELD_OUT = [
    ("so when exactly did this kick off?", "onset"),
    ("how many days now have you been like this", "duration"),
    ("can you show me the spot that hurts", "location"),
    ("is the pain more stabbing or more of an ache", "character"),
    ("does the pain travel down your arm at all", "radiation"),
    ("how would you score the pain, ten being the worst", "severity"),
    ("does it come in bouts or is it there all day", "timing"),
    ("does lying down make the pain worse", "aggravating"),
    ("do painkillers take the edge off it", "relieving"),
    ("ever had an episode like this previously?", "prior_episodes"),
    ("have you got any ongoing health problems", "past_medical_history"),
    ("have you ever needed an operation", "surgical_history"),
    ("which tablets are you currently taking", "medications"),
    ("are you allergic to any antibiotics", "allergies"),
    ("does heart disease run in the family", "family_history"),
    ("how many cigs do you smoke a day", "smoking"),
    ("how much wine do you drink a week", "alcohol"),
    ("have you ever taken cocaine or ecstasy", "recreational_drugs"),
    ("what do you do for a job", "occupation"),
    ("do you live on your own", "living_situation"),
    ("been abroad recently?", "travel"),
    ("do you always use condoms", "sexual_history"),
    ("how much exercise do you do in a week", "diet_exercise"),
    ("is there any chance you might be pregnant", "obstetric_gynecologic"),
    ("any fevers or night sweats lately", "ros_constitutional"),
    ("do you ever feel your heart pounding", "ros_cardiovascular"),
    ("have you been coughing much", "ros_respiratory"),
    ("have you had loose stools", "ros_gastrointestinal"),
    ("does it sting when you pass water", "ros_genitourinary"),
    ("any tingling in your hands or feet", "ros_neurologic"),
    ("are your knees or other joints painful", "ros_musculoskeletal"),
    ("have you had any itchy rash", "ros_skin"),
    ("have you been feeling low in mood", "ros_psychiatric"),
    ("what are you most worried this could be", "ideas_concerns_expectations"),
    ("hi there, I'm a medical student", "greeting"),
    ("what brings you to the clinic today", "chief_complaint"),
    ("WHEN DID THIS PAIN FIRST START", "onset"),
    ("do u smoke at all", "smoking"),
    ("any alergies", "allergies"),
    ("wat medicines r u taking", "medications"),
]


def test_labelled_set_is_large_and_covers_every_label():
    data = load_labelled()
    counts = Counter(d.intent for d in data)
    assert len(data) >= 400
    assert set(counts) == set(INTENT_LABELS)
    assert min(counts.values()) >= 8
    assert len({normalize_question(d.question) for d in data}) == len(data)  # no duplicates
    train = {normalize_question(d.question) for d in data}
    assert not any(normalize_question(q) in train for q, _ in HELD_OUT)


def test_held_out_phrasings_beat_the_keyword_baseline():
    ours = sum(classify(q).label == label for q, label in HELD_OUT) / len(HELD_OUT)
    base = KeywordBaseline()
    baseline = sum(base.predict(q).label == label for q, label in HELD_OUT) / len(HELD_OUT)
    assert ours >= 0.8, ours
    assert ours > baseline


def test_core_questions_and_odd_input():
    assert classify("when did the pain start?").label == "onset"
    assert classify("Do you smoke?").label == "smoking"
    assert classify("any chest pain?").label == "ros_cardiovascular"
    assert classify("").label == "other"
    assert classify("???").label == "other"
    prediction = classify("x" * 50_000)
    assert prediction.label in INTENT_LABELS and 0 <= prediction.confidence <= 1


def test_load_labelled_names_the_bad_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"question": "hi", "intent": "greeting"}) + "\n"
                    + json.dumps({"question": "x", "intent": "nonsense"}) + "\n")
    try:
        load_labelled(path)
    except ValueError as exc:
        assert "line 2" in str(exc)
    else:
        raise AssertionError("expected ValueError")
