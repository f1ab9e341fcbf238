"""Physiology scenarios: each responds to its key intervention in the right direction, by a
plausible amount and after the right delay; untreated, each deteriorates; all deterministic."""

import pytest

from medtutor.simulation.engine import physiology as ph


def run(scenario, doses, minute, seed=3):
    return ph.simulate(scenario, seed, doses, minute).vitals()


def test_six_scenarios_and_all_key_interventions_exist():
    assert {"gi_bleed_hypovolaemia", "septic_shock", "diabetic_ketoacidosis", "acute_severe_asthma",
            "anaphylaxis", "opioid_overdose"} <= set(ph.SCENARIOS)
    for info in ph.SCENARIOS.values():
        assert set(info.key_interventions) <= set(ph.INTERVENTIONS)
        assert info.sources, info.name


def test_deterministic_given_seed_and_noise_varies_with_seed():
    doses = [(2, "epinephrine_im"), (5, "fluid_bolus")]
    assert ph.trajectory("anaphylaxis", 11, doses, 30) == ph.trajectory("anaphylaxis", 11, doses, 30)
    assert ph.trajectory("anaphylaxis", 11, doses, 30) != ph.trajectory("anaphylaxis", 12, doses, 30)


def test_replay_equals_stepping():
    state = ph.start("septic_shock", seed=5)
    state = ph.advance(state, 4)
    state = ph.give(state, "fluid_bolus")
    state = ph.advance(state, 20)
    assert state == ph.simulate("septic_shock", 5, [(4, "fluid_bolus")], 24)


def test_unknown_names_are_refused():
    with pytest.raises(ph.UnknownScenario):
        ph.start("scurvy")
    with pytest.raises(ph.UnknownIntervention):
        ph.give(ph.start("anaphylaxis"), "leeches")
    with pytest.raises(ValueError):
        ph.advance(ph.start("anaphylaxis"), -1)


# --- anaphylaxis: epinephrine IM (RCUK 2021) ----------------------------------------------------

def test_anaphylaxis_epinephrine_raises_pressure_within_minutes_after_a_delay():
    before = run("anaphylaxis", [], 0)
    at_one_minute = run("anaphylaxis", [(0, "epinephrine_im")], 1)
    at_ten = run("anaphylaxis", [(0, "epinephrine_im")], 10)
    untreated_ten = run("anaphylaxis", [], 10)
    assert before.systolic_bp < 90                                      # shocked on arrival
    assert abs(at_one_minute.systolic_bp - untreated_ten.systolic_bp) < 15   # nothing yet at 1 min (onset)
    assert at_ten.systolic_bp - untreated_ten.systolic_bp >= 25        # peak effect ~8-10 min
    assert at_ten.spo2 > untreated_ten.spo2 and at_ten.respiratory_rate < untreated_ten.respiratory_rate


def test_anaphylaxis_untreated_deteriorates_to_arrest_and_antihistamine_does_not_help():
    v20, v40 = run("anaphylaxis", [], 20), run("anaphylaxis", [], 40)
    assert v40.mean_arterial_pressure < v20.mean_arterial_pressure < run("anaphylaxis", [], 0).mean_arterial_pressure
    assert run("anaphylaxis", [], 90).arrested
    assert run("anaphylaxis", [(1, "antihistamine")], 90).arrested        # not an emergency treatment


# --- opioid overdose: naloxone and ventilation ---------------------------------------------------

def test_opioid_naloxone_restores_breathing_then_wears_off():
    untreated = run("opioid_overdose", [], 5)
    treated = run("opioid_overdose", [(1, "naloxone_iv")], 5)
    assert untreated.respiratory_rate <= 6 and untreated.spo2 < 85 and untreated.gcs <= 8
    assert treated.respiratory_rate >= untreated.respiratory_rate + 6
    assert treated.gcs >= untreated.gcs + 5 and treated.spo2 > untreated.spo2 + 8
    # Naloxone lasts ~45-90 min, shorter than the opioid: re-narcotisation (Clarke 2005).
    later = run("opioid_overdose", [(1, "naloxone_iv")], 100)
    assert later.respiratory_rate < treated.respiratory_rate - 4 and not later.arrested


def test_opioid_ventilation_fixes_saturation_without_reversal_and_doing_nothing_kills():
    assert run("opioid_overdose", [(0, "bag_valve_mask"), (0, "oxygen")], 5).spo2 >= 95
    assert run("opioid_overdose", [(0, "bag_valve_mask"), (0, "oxygen")], 5).gcs <= 8   # still opioid-sedated
    assert run("opioid_overdose", [], 20).heart_rate < run("opioid_overdose", [], 0).heart_rate
    assert run("opioid_overdose", [], 90).arrested


# --- acute severe asthma: salbutamol, oxygen, steroids (BTS/SIGN 2019) ------------------------------

def test_asthma_salbutamol_improves_peak_flow_and_oxygen_fixes_saturation():
    def pef(v):
        return dict(v.extras)["peak_flow_percent_predicted"]
    base = run("acute_severe_asthma", [], 0)
    assert 33 <= pef(base) <= 50                                          # acute severe band
    early = run("acute_severe_asthma", [(0, "salbutamol_neb")], 2)       # before onset (~3-5 min)
    assert abs(pef(early) - pef(run("acute_severe_asthma", [], 2))) < 1
    peak = run("acute_severe_asthma", [(0, "salbutamol_neb")], 20)
    assert pef(peak) - pef(run("acute_severe_asthma", [], 20)) >= 15
    assert peak.heart_rate >= run("acute_severe_asthma", [], 20).heart_rate - 5   # beta-2 tachycardia offsets relief
    assert run("acute_severe_asthma", [(0, "oxygen")], 5).spo2 >= 94


def test_asthma_steroids_act_only_after_hours_and_untreated_patient_tires():
    with_steroid = run("acute_severe_asthma", [(0, "steroid")], 60)
    without = run("acute_severe_asthma", [], 60)
    assert abs(with_steroid.spo2 - without.spo2) <= 1                    # no effect in the first hour
    tiring = run("acute_severe_asthma", [], 105)
    assert tiring.gcs < 15 and dict(tiring.extras)["paco2_kpa"] > 5.5     # exhaustion, rising CO2
    assert run("acute_severe_asthma", [], 150).arrested


# --- septic shock: fluids, noradrenaline, antibiotics (SSC 2021) --------------------------------------

def test_sepsis_fluids_raise_pressure_transiently_and_noradrenaline_reaches_target():
    bolus = run("septic_shock", [(0, "fluid_bolus")], 15)
    none = run("septic_shock", [], 15)
    assert bolus.mean_arterial_pressure >= none.mean_arterial_pressure + 5
    faded = run("septic_shock", [(0, "fluid_bolus")], 75).mean_arterial_pressure
    assert faded < bolus.mean_arterial_pressure                           # crystalloid leaves the circulation
    pressor = run("septic_shock", [(0, "fluid_bolus"), (15, "noradrenaline")], 30)
    assert pressor.mean_arterial_pressure >= 65


def test_sepsis_antibiotics_take_hours_and_their_delay_is_fatal():
    assert run("septic_shock", [(0, "antibiotics")], 20).temperature_c == pytest.approx(
        run("septic_shock", [], 20).temperature_c, abs=0.3)                 # nothing in the first half hour
    early = run("septic_shock", [(0, "antibiotics"), (0, "fluid_bolus"), (20, "fluid_bolus"), (30, "noradrenaline")], 240)
    assert not early.arrested and early.temperature_c < 39.5
    assert run("septic_shock", [(0, "fluid_bolus"), (20, "fluid_bolus"), (30, "noradrenaline")], 240).arrested
    assert run("septic_shock", [], 150).arrested


# --- DKA: fluids, insulin, potassium (JBDS-IP 2021) ---------------------------------------------------

def extras(v):
    return dict(v.extras)


def test_dka_insulin_lowers_glucose_and_ketones_at_guideline_rates():
    doses = [(0, "fluid_litre"), (0, "insulin_infusion"), (60, "fluid_litre"), (60, "potassium")]
    start, later = run("diabetic_ketoacidosis", doses, 30), run("diabetic_ketoacidosis", doses, 150)
    glucose_fall_per_h = (start.glucose_mmol_l - later.glucose_mmol_l) / 2
    ketone_fall_per_h = (extras(start)["ketones_mmol_l"] - extras(later)["ketones_mmol_l"]) / 2
    assert 2 <= glucose_fall_per_h <= 6                                   # target ~3 mmol/L/h
    assert ketone_fall_per_h >= 0.5                                       # target >= 0.5 mmol/L/h
    assert extras(later)["ph"] > extras(start)["ph"]


def test_dka_insulin_without_potassium_causes_hypokalaemia_and_no_treatment_worsens_acidosis():
    no_k = run("diabetic_ketoacidosis", [(0, "fluid_litre"), (0, "insulin_infusion")], 240)
    with_k = run("diabetic_ketoacidosis", [(0, "fluid_litre"), (0, "insulin_infusion"), (30, "potassium")], 240)
    assert extras(no_k)["potassium_mmol_l"] < 3.5 <= extras(with_k)["potassium_mmol_l"]
    untreated = run("diabetic_ketoacidosis", [], 240)
    assert extras(untreated)["ph"] < extras(run("diabetic_ketoacidosis", [], 0))["ph"] - 0.2
    assert untreated.gcs < 15 and untreated.glucose_mmol_l > 35


def test_dka_fluids_alone_improve_circulation():
    fluids = run("diabetic_ketoacidosis", [(0, "fluid_litre"), (60, "fluid_litre")], 120)
    assert fluids.heart_rate < run("diabetic_ketoacidosis", [], 120).heart_rate - 8


# --- GI bleed: blood, fluids, endoscopy (ATLS, NICE CG141) ----------------------------------------------

def test_gi_bleed_presents_as_atls_class_three_and_bleeds_to_arrest_untreated():
    first = run("gi_bleed_hypovolaemia", [], 0)
    assert 30 <= extras(first)["blood_volume_lost_percent"] <= 40
    assert first.heart_rate >= 115 and first.systolic_bp < 110
    assert run("gi_bleed_hypovolaemia", [], 60).systolic_bp < first.systolic_bp - 15
    assert run("gi_bleed_hypovolaemia", [], 150).arrested


def test_gi_bleed_transfusion_restores_pressure_but_only_endoscopy_stops_the_bleeding():
    blood = [(0, "blood_transfusion"), (15, "blood_transfusion")]
    at_30 = run("gi_bleed_hypovolaemia", blood, 30)
    assert at_30.systolic_bp >= run("gi_bleed_hypovolaemia", [], 30).systolic_bp + 15
    assert at_30.heart_rate <= run("gi_bleed_hypovolaemia", [], 30).heart_rate - 15
    without_scope = run("gi_bleed_hypovolaemia", blood, 120)
    with_scope = run("gi_bleed_hypovolaemia", blood + [(5, "endoscopy")], 120)
    assert with_scope.systolic_bp > without_scope.systolic_bp + 15
    # Crystalloid buys less than blood: most leaves the circulation (Hahn 2010).
    crystalloid = run("gi_bleed_hypovolaemia", [(0, "fluid_bolus"), (15, "fluid_bolus")], 60)
    transfused = run("gi_bleed_hypovolaemia", blood, 60)
    assert transfused.systolic_bp > crystalloid.systolic_bp


def test_arrest_is_final_and_vitals_read_zero():
    state = ph.simulate("anaphylaxis", 1, [], 120)
    assert state.arrested_at is not None
    v = state.vitals()
    assert v.arrested and v.heart_rate == 0 and v.gcs == 3
    assert ph.advance(ph.give(state, "epinephrine_im"), 30).vitals().arrested
