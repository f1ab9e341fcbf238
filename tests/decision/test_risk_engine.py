"""Risk engine: input validation, CSV refusal, leakage detection, explanations, training."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from medtutor.decision.engine import clinical_data as cd
from medtutor.decision.engine import risk
from tests.conftest import shared_data
from tests.decision.risk_fixtures import trained_report

HEART = cd.DATASETS["heart_disease_uci"]
PIMA = cd.DATASETS["pima_diabetes"]
HF = cd.DATASETS["heart_failure_clinical_records"]


def _heart_patient(**changes):
    values = {"age": "58", "sex": "1", "cp": "4", "trestbps": "140", "chol": "240", "fbs": "0", "restecg": "0",
              "thalach": "130", "exang": "1", "oldpeak": "1.5", "slope": "", "ca": "", "thal": ""}
    values.update(changes)
    return values


@pytest.mark.parametrize("bp", ["0", "400"])
def test_out_of_range_blood_pressure_names_the_field_and_range(bp):
    with pytest.raises(cd.DataError) as caught:
        cd.validate_patient(HEART, HEART.feature_names, _heart_patient(trestbps=bp))
    assert caught.value.problems == [f"trestbps (Resting systolic blood pressure, mm Hg): {bp} is outside the "
                                     "plausible range 60–260 mm Hg"]


def test_missing_required_and_wrong_type_are_reported_together():
    with pytest.raises(cd.DataError) as caught:
        cd.validate_patient(HEART, HEART.feature_names, _heart_patient(age="", thalach="fast", cp="9"))
    text = "\n".join(caught.value.problems)
    assert "age (Age, years): required; plausible range 18–100 years" in text
    assert "thalach (Maximum heart rate achieved, beats/min): 'fast' is not a number" in text
    assert "cp (Chest pain type): 9 is not a known code" in text
    row = cd.validate_patient(HEART, HEART.feature_names, _heart_patient())
    assert np.isnan(row[HEART.feature_names.index("ca")])  # optional, left blank: imputed by the model


def test_pima_zero_means_missing_in_training_and_is_refused_in_a_form():
    text = "pregnancies,glucose,diastolic_bp,triceps_skinfold,insulin,bmi,diabetes_pedigree,age,outcome\n" + \
        "\n".join(f"{i % 5},{0 if i == 0 else 90 + i},70,{0 if i % 2 else 20},0,30.1,0.5,{25 + i % 40},{i % 2}"
                  for i in range(80))
    data = cd.read_csv_text(PIMA, text)
    glucose, insulin = data.X[:, 1], data.X[:, 4]
    assert np.isnan(glucose[0]) and not np.isnan(glucose[1]) and np.isnan(insulin).all()
    with pytest.raises(cd.DataError, match="0 means 'not measured'"):
        cd.validate_patient(PIMA, PIMA.feature_names, {"pregnancies": "1", "glucose": "0", "diastolic_bp": "70",
                                                       "bmi": "30", "diabetes_pedigree": "0.4", "age": "30"})


def test_csv_with_unknown_columns_wrong_types_or_too_few_rows_is_refused():
    header = "pregnancies,glucose,diastolic_bp,triceps_skinfold,insulin,bmi,diabetes_pedigree,age,outcome"
    with pytest.raises(cd.DataError) as caught:
        cd.read_csv_text(PIMA, header + ",shoe_size\n1,100,70,20,80,30,0.5,30,1,42\n")
    assert "unknown column(s) shoe_size" in caught.value.problems[0]
    with pytest.raises(cd.DataError) as caught:
        cd.read_csv_text(PIMA, header + "\n1,high,70,20,80,30,0.5,30,1\n1,100,70,20,80,30,0.5,30,maybe\n")
    assert caught.value.problems == ["line 2, column glucose: 'high' is not a number",
                                     "line 3, column outcome: outcome must be 0 or 1, got 'maybe'"]
    with pytest.raises(cd.DataError, match="too few rows to train"):
        cd.read_csv_text(PIMA, header + "\n" + "\n".join(f"1,{100 + i},70,20,80,30,0.5,30,{i % 2}" for i in range(20)))


def test_leakage_detector_flags_heart_failure_time():
    data = cd.load_dataset(shared_data("clinical"), HF.key, features=HF.feature_names)
    findings = risk.detect_leakage(data, folds=3)
    top = findings[0]
    assert top.feature == "time" and top.severity == "leak"
    assert top.auc_drop_without is not None and top.auc_drop_without >= 0.05
    # without the dataset's declaration, the name and the AUC drop alone still flag it as a leak
    undeclared = dataclasses.replace(data, spec=dataclasses.replace(HF, leaking={}))
    assert [(f.feature, f.severity) for f in risk.detect_leakage(undeclared, folds=3)][:1] == [("time", "leak")]


def test_leakage_detector_flags_a_column_that_separates_the_classes_alone():
    rng = np.random.default_rng(0)
    y = np.arange(120) % 2
    rows = [f"{rng.integers(0, 6)},{90 + 60 * v + rng.integers(0, 20)},70,20,80,{rng.uniform(20, 40):.1f},0.5,"
            f"{rng.integers(21, 70)},{v}" for v in y]
    header = "pregnancies,glucose,diastolic_bp,triceps_skinfold,insulin,bmi,diabetes_pedigree,age,outcome\n"
    data = cd.read_csv_text(PIMA, header + "\n".join(rows))
    flagged = {f.feature: f for f in risk.detect_leakage(data, folds=3)}
    assert "glucose" in flagged and flagged["glucose"].single_feature_auc >= 0.9
    assert "bmi" not in flagged


def test_training_report_has_three_models_and_the_recommended_keeps_the_ranking():
    report = trained_report(HF.key)
    assert set(report.models) == set(risk.MODEL_KINDS)
    assert "time" not in report.features  # the leak is excluded from the served models
    for model in report.models.values():
        m = model.metrics
        assert 0.5 < m["auc"] <= 1 and m["auc_ci"][0] <= m["auc"] <= m["auc_ci"][1]
        assert 0 <= m["ece"] <= 1 and len(m["reliability"]) == 10
        groups = {a["attribute"] for a in m["subgroups"]["attributes"]}
        assert groups == {"sex", "age", "smoking"}
    assert report.leakage[0].feature == "time"


def test_explanations_add_up():
    report = trained_report(HF.key)
    x = report.models["recommended"].artifact["test_X"][0]  # a patient none of the models trained on
    for kind in ("logreg", "recommended"):
        artifact = report.models[kind].artifact
        explanation = risk.explain(artifact, x)
        total = sum(c.contribution for c in explanation.contributions)
        if kind == "logreg":
            logit = np.log(explanation.risk / (1 - explanation.risk))
            assert explanation.method == "exact-linear"
            assert explanation.base_value + total == pytest.approx(logit, abs=1e-6)
        else:
            assert explanation.method == "sampling-shapley"
            assert explanation.base_value + total == pytest.approx(explanation.risk, abs=1e-9)
        assert risk.explain(artifact, x) == explanation  # deterministic


def test_transport_reports_every_other_site():
    data = cd.load_dataset(shared_data("clinical"), HEART.key)
    report = risk.transport(data, "cleveland", risk.TrainConfig(n_boot=50))
    assert [s["site"] for s in report["sites"]] == ["hungarian", "switzerland", "va_long_beach"]
    assert all(s["auc"] is not None for s in report["sites"])
    with pytest.raises(ValueError, match="unknown site"):
        risk.transport(data, "mars")


def test_a_recorded_patient_with_a_missing_required_value_can_be_imputed_when_allowed():
    values = _heart_patient(thalach="")
    with pytest.raises(cd.DataError, match="thalach"):
        cd.validate_patient(HEART, HEART.feature_names, values)
    row = cd.validate_patient(HEART, HEART.feature_names, values, allow_missing=True)
    assert np.isnan(row[HEART.feature_names.index("thalach")])
    with pytest.raises(cd.DataError, match="outside the plausible range"):  # a bad value is still refused
        cd.validate_patient(HEART, HEART.feature_names, _heart_patient(thalach="", trestbps="400"), allow_missing=True)
