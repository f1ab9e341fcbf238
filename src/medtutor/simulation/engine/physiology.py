"""Evolving physiology for acute virtual patients (pure, deterministic given a seed).

Each scenario is a small state model stepped once per simulated minute. Hidden variables (blood
lost, bronchoconstriction, opioid receptor occupancy, ...) evolve with time and with the doses the
learner gives; the vital signs are computed from them. Treatments act through simple kinetics
(onset, time to peak, duration) taken from the pharmacology and guideline sources cited beside
each number, so responses have the right direction, size and delay, and a patient whose critical
action is missed or late deteriorates and may arrest.

The numbers are chosen for teaching: they reproduce the textbook shape and order of magnitude of
each response, not a validated patient model. For education, not patient care.

Use::

    state = start("anaphylaxis", seed=7)
    state = give(state, "epinephrine_im")
    state = advance(state, 10)
    state.vitals().systolic_bp

or rebuild a session from its stored doses with :func:`simulate` (pure replay, so a stored
session needs only its seed and its timeline).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

__all__ = [
    "INTERVENTIONS", "SCENARIOS", "Dose", "Intervention", "Kinetics", "PhysiologyState",
    "ScenarioInfo", "UnknownIntervention", "UnknownScenario", "Vitals", "advance", "give",
    "simulate", "start", "trajectory",
]

BLOOD_VOLUME_ML = 5000.0  # ~70 ml/kg in a 70 kg adult (ATLS 10th ed., ch. 3)
MAX_MINUTES = 24 * 60     # a session never simulates more than a day


class UnknownScenario(ValueError):
    pass


class UnknownIntervention(ValueError):
    pass


# ---------------------------------------------------------------------------------------------
# Kinetics and interventions


@dataclass(frozen=True)
class Kinetics:
    """Effect of one dose over time: 0 until ``onset``, rising linearly to 1 at ``peak``, held
    until ``hold_until``, then falling linearly to 0 at ``end`` (``end=None``: an infusion or a
    procedure whose effect lasts)."""

    onset: float
    peak: float
    hold_until: float
    end: float | None

    def at(self, minutes_since: float) -> float:
        t = minutes_since
        if t < self.onset:
            return 0.0
        if t < self.peak:
            return (t - self.onset) / max(self.peak - self.onset, 1e-9)
        if self.end is None or t <= self.hold_until:
            return 1.0
        if t >= self.end:
            return 0.0
        return 1.0 - (t - self.hold_until) / max(self.end - self.hold_until, 1e-9)


@dataclass(frozen=True)
class Intervention:
    code: str
    label: str
    category: str               # airway_breathing | circulation | drug | procedure
    minutes: int                # simulated minutes the action takes
    kinetics: Kinetics | None   # None: no modelled physiological effect (still timed and scored)
    volume_ml: float = 0.0      # intravascular volume given (fluids, blood)
    infusion_minutes: float = 0.0
    note: str = ""


# Sources for the kinetics below:
# - Oxygen: saturation responds within 1-2 min (BTS guideline for oxygen use in adults, O'Driscoll
#   et al., Thorax 2017;72:i1-i90; target 94-98 %).
# - Crystalloid 500 ml bolus over ~15 min; only ~20-30 % stays intravascular after an hour
#   (Hahn RG, "Volume kinetics for infusion fluids", Anesthesiology 2010;113:470-81).
# - Packed red cells ~300 ml per unit, retained intravascularly (JPAC Transfusion Handbook).
# - Epinephrine 0.5 mg IM (anterolateral thigh): peak plasma at 8 +/- 2 min (Simons FER et al.,
#   J Allergy Clin Immunol 2001;108:871-3); repeat after 5 min if no better (Resuscitation
#   Council UK, Emergency treatment of anaphylaxis, 2021); effect wanes over ~30-40 min.
# - Salbutamol 5 mg nebulised: onset within 5 min, peak 15-30 min, lasts 3-6 h (BNF; BTS/SIGN
#   British guideline on the management of asthma, 2019, section 8).
# - Ipratropium 500 mcg nebulised: onset 15 min, peak 30-60 min, smaller added effect (BTS/SIGN).
# - Magnesium sulphate 2 g IV over 20 min: modest bronchodilation in acute severe asthma (BTS/SIGN;
#   Kew KM et al., Cochrane 2014).
# - Systemic corticosteroids: anti-inflammatory effect after 4-6 h (BTS/SIGN 2019; Rowe BH et al.,
#   Cochrane 2001), so nothing is seen in the first hours, yet they are due within 1 h.
# - Naloxone 400 mcg IV: onset 1-2 min, duration 45-90 min, shorter than most opioids so
#   re-narcotisation follows (naloxone SmPC; Clarke SFJ et al., Emerg Med J 2005;22:612-6).
#   IM: onset 3-5 min, peak ~15 min, slightly longer action.
# - Insulin fixed-rate IV infusion 0.1 units/kg/h: acts within minutes, steady effect by ~30 min
#   (JBDS-IP, The management of diabetic ketoacidosis in adults, 2021).
# - Noradrenaline infusion: titratable effect within minutes (Surviving Sepsis Campaign 2021).
# - Broad-spectrum antibiotics: no haemodynamic change for ~1 h, improvement over hours (Surviving
#   Sepsis Campaign 2021; Kumar A et al., Crit Care Med 2006;34:1589-96 - each hour of delay in
#   septic shock lowered survival by ~7.6 %).
# - Paracetamol 1 g: temperature falls ~1 C, onset 30 min, peak 2 h, lasts 4-6 h (SmPC).
# - Endoscopic haemostasis: time to get to endoscopy ~30 min in an unstable patient; stops the
#   bleeding (NICE CG141, Acute upper GI bleeding, 2012: endoscopy immediately after
#   resuscitation in unstable patients).
_ROOM = Kinetics(1, 3, 10**6, None)
INTERVENTIONS: dict[str, Intervention] = {i.code: i for i in (
    Intervention("oxygen", "High-flow oxygen via mask", "airway_breathing", 1, Kinetics(0, 2, 10**6, None)),
    Intervention("bag_valve_mask", "Airway opening and bag-valve-mask ventilation", "airway_breathing", 1,
                 Kinetics(0, 2, 10**6, None)),
    Intervention("iv_access", "Two large-bore IV cannulae", "circulation", 2, None),
    Intervention("fluid_bolus", "Crystalloid 500 ml IV bolus", "circulation", 1,
                 Kinetics(0, 15, 15, 15), volume_ml=500, infusion_minutes=15),
    Intervention("fluid_litre", "0.9% saline 1 litre IV over 1 hour", "circulation", 1,
                 Kinetics(0, 60, 60, 60), volume_ml=1000, infusion_minutes=60),
    Intervention("blood_transfusion", "Packed red cells 1 unit (O negative / group-specific)", "circulation", 2,
                 Kinetics(0, 15, 15, 15), volume_ml=300, infusion_minutes=15),
    Intervention("tranexamic_acid", "Tranexamic acid 1 g IV", "drug", 1, None,
                 note="No effect on death in GI bleeding (HALT-IT, Lancet 2020;395:1927-36)."),
    Intervention("endoscopy", "Urgent endoscopy with haemostasis", "procedure", 2, Kinetics(30, 35, 10**6, None)),
    Intervention("epinephrine_im", "Epinephrine (adrenaline) 0.5 mg IM", "drug", 1, Kinetics(1, 8, 15, 40)),
    Intervention("salbutamol_neb", "Salbutamol 5 mg nebulised (oxygen-driven)", "drug", 1, Kinetics(3, 15, 90, 240)),
    Intervention("ipratropium_neb", "Ipratropium 500 mcg nebulised", "drug", 1, Kinetics(10, 40, 180, 360)),
    Intervention("magnesium_iv", "Magnesium sulphate 2 g IV over 20 min", "drug", 1, Kinetics(5, 20, 90, 180)),
    Intervention("steroid", "Corticosteroid (prednisolone 40 mg PO / hydrocortisone 100 mg IV)", "drug", 1,
                 Kinetics(240, 360, 10**6, None)),
    Intervention("antihistamine", "Chlorphenamine 10 mg IV", "drug", 1, None,
                 note="Skin symptoms only; not part of emergency treatment (RCUK anaphylaxis 2021)."),
    Intervention("naloxone_iv", "Naloxone 400 mcg IV", "drug", 1, Kinetics(1, 3, 30, 75)),
    Intervention("naloxone_im", "Naloxone 400 mcg IM", "drug", 1, Kinetics(3, 12, 45, 100)),
    Intervention("insulin_infusion", "Fixed-rate IV insulin 0.1 units/kg/h", "drug", 2, Kinetics(2, 30, 10**6, None)),
    Intervention("potassium", "Potassium chloride 40 mmol/L added to fluids", "drug", 1, Kinetics(5, 30, 10**6, None)),
    Intervention("dextrose", "Glucose 10% at 125 ml/h alongside insulin", "drug", 1, Kinetics(5, 20, 10**6, None)),
    Intervention("antibiotics", "Broad-spectrum IV antibiotics", "drug", 2, Kinetics(30, 180, 10**6, None)),
    Intervention("noradrenaline", "Noradrenaline infusion titrated to MAP 65 mmHg", "drug", 3,
                 Kinetics(2, 10, 10**6, None)),
    Intervention("paracetamol", "Paracetamol 1 g IV", "drug", 1, Kinetics(30, 120, 240, 360)),
)}


@dataclass(frozen=True)
class Dose:
    code: str
    minute: int


# ---------------------------------------------------------------------------------------------
# Vitals


@dataclass(frozen=True)
class Vitals:
    minute: int
    heart_rate: int
    systolic_bp: int
    diastolic_bp: int
    respiratory_rate: int
    spo2: int
    temperature_c: float
    gcs: int
    glucose_mmol_l: float | None = None
    extras: tuple[tuple[str, float], ...] = ()   # scenario-specific readings (lactate, PEF, pH, K+)
    arrested: bool = False

    @property
    def mean_arterial_pressure(self) -> int:
        return round(self.diastolic_bp + (self.systolic_bp - self.diastolic_bp) / 3)

    @property
    def avpu(self) -> str:
        """AVPU from GCS, by the usual mapping (A 15, V 12-14, P 8-11, U 3-7)."""
        if self.gcs >= 15:
            return "A"
        if self.gcs >= 12:
            return "V"
        return "P" if self.gcs >= 8 else "U"

    def as_dict(self) -> dict[str, object]:
        return {"minute": self.minute, "heart_rate": self.heart_rate, "systolic_bp": self.systolic_bp,
                "diastolic_bp": self.diastolic_bp, "mean_arterial_pressure": self.mean_arterial_pressure,
                "respiratory_rate": self.respiratory_rate, "spo2": self.spo2,
                "temperature_c": self.temperature_c, "gcs": self.gcs, "avpu": self.avpu,
                "glucose_mmol_l": self.glucose_mmol_l, "extras": dict(self.extras), "arrested": self.arrested}


_ARREST_VITALS = dict(heart_rate=0, systolic_bp=0, diastolic_bp=0, respiratory_rate=0, spo2=0, gcs=3)


# ---------------------------------------------------------------------------------------------
# State


@dataclass(frozen=True)
class PhysiologyState:
    scenario: str
    seed: int
    minute: int
    hidden: tuple[tuple[str, float], ...]
    doses: tuple[Dose, ...] = ()
    arrested_at: int | None = None

    def get(self, name: str) -> float:
        return dict(self.hidden)[name]

    def effect(self, code: str, *, cap: float = 1.0) -> float:
        """Summed effect (0..cap) of every dose of ``code`` given so far, at the current minute."""
        kin = INTERVENTIONS[code].kinetics
        if kin is None:
            return 0.0
        return min(cap, sum(kin.at(self.minute - d.minute) for d in self.doses if d.code == code))

    def given(self, code: str) -> bool:
        return any(d.code == code for d in self.doses)

    def infusing_ml_per_min(self, *codes: str) -> float:
        """Volume running in this minute from bolus doses of ``codes``."""
        total = 0.0
        for d in self.doses:
            iv = INTERVENTIONS[d.code]
            if d.code in codes and iv.volume_ml and 0 <= self.minute - d.minute < iv.infusion_minutes:
                total += iv.volume_ml / iv.infusion_minutes
        return total

    def vitals(self) -> Vitals:
        scenario = SCENARIOS[self.scenario]
        if self.arrested_at is not None:
            base = scenario.observe(self)
            return replace(base, **_ARREST_VITALS, arrested=True)
        return scenario.observe(self)


@dataclass(frozen=True)
class ScenarioInfo:
    name: str
    title: str
    key_interventions: tuple[str, ...]       # what treats it (the tests check these)
    critical_deadlines: tuple[tuple[str, int], ...]   # (intervention, minutes) from the guideline
    initial: Callable[[random.Random], dict[str, float]]
    step: Callable[[PhysiologyState, dict[str, float]], None]
    observe: Callable[[PhysiologyState], Vitals]
    arrest: Callable[[PhysiologyState], bool]
    sources: tuple[str, ...] = field(default=())


# ---------------------------------------------------------------------------------------------
# Helpers


def _interp(x: float, xs: Sequence[float], ys: Sequence[float]) -> float:
    if x <= xs[0]:
        return ys[0]
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return ys[-1]


def _clamp(x: float, low: float, high: float) -> float:
    return max(low, min(high, x))


def _noise(state: PhysiologyState, salt: str, size: float) -> float:
    """Small reproducible measurement noise: the same seed and minute give the same reading."""
    rng = random.Random(f"{state.seed}:{state.minute}:{salt}")
    return rng.uniform(-size, size)


def _vitals(state: PhysiologyState, *, hr: float, sbp: float, dbp: float, rr: float, spo2: float,
            temp: float, gcs: float, glucose: float | None = None,
            extras: Iterable[tuple[str, float]] = ()) -> Vitals:
    sbp_n = sbp + _noise(state, "sbp", 2)
    return Vitals(
        minute=state.minute,
        heart_rate=round(_clamp(hr + _noise(state, "hr", 2), 25, 220)),
        systolic_bp=round(_clamp(sbp_n, 30, 240)),
        diastolic_bp=round(_clamp(min(dbp + _noise(state, "dbp", 1.5), sbp_n - 10), 15, 140)),
        respiratory_rate=round(_clamp(rr + _noise(state, "rr", 1), 2, 60)),
        spo2=round(_clamp(spo2 + _noise(state, "spo2", 0.6), 40, 100)),
        temperature_c=round(temp + _noise(state, "t", 0.05), 1),
        gcs=round(_clamp(gcs, 3, 15)),
        glucose_mmol_l=None if glucose is None else round(max(glucose, 0.5), 1),
        extras=tuple((k, round(v, 2)) for k, v in extras),
    )


def _oxygen_boost(state: PhysiologyState, spo2: float, gain: float) -> float:
    """Supplemental oxygen lifts saturation toward 99 % (more when low); it cannot exceed 100."""
    return spo2 + state.effect("oxygen") * min(gain, max(0.0, 99.5 - spo2))


# ---------------------------------------------------------------------------------------------
# 1. Hypovolaemic shock from upper GI bleeding


def _gi_initial(rng: random.Random) -> dict[str, float]:
    # ~1600 ml lost (32 %): ATLS class III on arrival; still bleeding ~10 ml/min.
    return {"lost_ml": 1600 + rng.uniform(-50, 50), "bleed_ml_min": 10.0, "retained_fluid_ml": 0.0,
            "transient_fluid_ml": 0.0, "hb_g_l": 78.0}


def _gi_step(state: PhysiologyState, h: dict[str, float]) -> None:
    bleeding = h["bleed_ml_min"] * (1 - state.effect("endoscopy"))
    h["lost_ml"] += bleeding
    # Crystalloid: 25 % stays, 75 % leaves the circulation with a ~20 min half-time (Hahn 2010).
    crystalloid = state.infusing_ml_per_min("fluid_bolus", "fluid_litre")
    h["retained_fluid_ml"] += 0.25 * crystalloid
    h["transient_fluid_ml"] = h["transient_fluid_ml"] * math.exp(-math.log(2) / 20) + 0.75 * crystalloid
    h["lost_ml"] -= state.infusing_ml_per_min("blood_transfusion")
    # Haemoglobin: each unit raises Hb ~10 g/L; crystalloid dilutes (JPAC handbook).
    h["hb_g_l"] += state.infusing_ml_per_min("blood_transfusion") / 300 * 10 - crystalloid / 1000 * 6


def _gi_deficit_fraction(state: PhysiologyState) -> float:
    h = dict(state.hidden)
    return max(0.0, h["lost_ml"] - h["retained_fluid_ml"] - h["transient_fluid_ml"]) / BLOOD_VOLUME_ML


# ATLS 10th edition, Table 3-1 (signs by class of haemorrhage: I <15 %, II 15-30 %, III 31-40 %,
# IV >40 % of blood volume): heart rate, blood pressure, respiratory rate and mental state.
_ATLS_LOSS = (0.0, 0.15, 0.30, 0.40, 0.50)
_ATLS_HR = (78, 100, 120, 140, 150)
_ATLS_SBP = (124, 122, 108, 84, 62)
_ATLS_DBP = (78, 84, 74, 56, 38)
_ATLS_RR = (14, 19, 26, 34, 38)
_ATLS_GCS = (15, 15, 14, 12, 9)


def _gi_observe(state: PhysiologyState) -> Vitals:
    f = _gi_deficit_fraction(state)
    spo2 = 98 - 4 * max(0.0, f - 0.3)
    return _vitals(state, hr=_interp(f, _ATLS_LOSS, _ATLS_HR), sbp=_interp(f, _ATLS_LOSS, _ATLS_SBP),
                   dbp=_interp(f, _ATLS_LOSS, _ATLS_DBP), rr=_interp(f, _ATLS_LOSS, _ATLS_RR),
                   spo2=_oxygen_boost(state, spo2, 2), temp=36.4, gcs=_interp(f, _ATLS_LOSS, _ATLS_GCS),
                   extras=(("blood_volume_lost_percent", 100 * f), ("haemoglobin_g_l", state.get("hb_g_l")),
                           ("lactate_mmol_l", 1 + 12 * max(0.0, f - 0.15))))


def _gi_arrest(state: PhysiologyState) -> bool:
    return _gi_deficit_fraction(state) > 0.55


# ---------------------------------------------------------------------------------------------
# 2. Septic shock


def _sepsis_initial(rng: random.Random) -> dict[str, float]:
    # Infection burden 0..1; relative hypovolaemia from vasodilation and capillary leak.
    return {"infection": 0.6 + rng.uniform(-0.02, 0.02), "deficit_ml": 1500.0, "transient_fluid_ml": 0.0}


def _sepsis_step(state: PhysiologyState, h: dict[str, float]) -> None:
    abx = state.effect("antibiotics")
    # Untreated, infection progresses (~0.24/h); antibiotics reverse it over hours (Kumar 2006).
    h["infection"] = _clamp(h["infection"] + 0.004 * (1 - abx) - 0.004 * abx, 0.0, 1.0)
    h["deficit_ml"] += 2.0 * h["infection"]          # ongoing capillary leak
    crystalloid = state.infusing_ml_per_min("fluid_bolus", "fluid_litre")
    h["deficit_ml"] -= 0.25 * crystalloid             # retained share (Hahn 2010)
    h["transient_fluid_ml"] = h["transient_fluid_ml"] * math.exp(-math.log(2) / 20) + 0.75 * crystalloid
    h["deficit_ml"] = max(h["deficit_ml"], 0.0)


def _sepsis_map(state: PhysiologyState) -> float:
    h = dict(state.hidden)
    deficit = max(0.0, h["deficit_ml"] - h["transient_fluid_ml"]) / BLOOD_VOLUME_ML
    # Noradrenaline restores vascular tone: ~+15 mmHg at a usual dose (SSC 2021 target MAP >= 65).
    return 95 - 25 * h["infection"] - 80 * deficit + 15 * state.effect("noradrenaline")


def _sepsis_observe(state: PhysiologyState) -> Vitals:
    h = dict(state.hidden)
    deficit = max(0.0, h["deficit_ml"] - h["transient_fluid_ml"]) / BLOOD_VOLUME_ML
    temp = 37.0 + 3.3 * h["infection"] - 1.0 * state.effect("paracetamol")
    mean_ap = _sepsis_map(state)
    # Vasodilatory shock: wide pulse pressure, low diastolic.
    sbp, dbp = mean_ap + 30, mean_ap - 15
    # Heart rate rises ~8-10 /min per degree C (Liebermeister's rule) plus baroreflex tachycardia.
    hr = 72 + 25 * h["infection"] + 80 * deficit + 8 * (temp - 37)
    rr = 16 + 12 * h["infection"] + 15 * deficit
    spo2 = _oxygen_boost(state, 97 - 6 * h["infection"], 4)
    gcs = 15 - max(0.0, 65 - mean_ap) / 5 - 4 * max(0.0, h["infection"] - 0.7)
    lactate = 1.0 + 3 * h["infection"] + 8 * deficit     # SSC 2021: lactate > 2 with vasopressors = shock
    return _vitals(state, hr=hr, sbp=sbp, dbp=dbp, rr=rr, spo2=spo2, temp=temp, gcs=gcs,
                   extras=(("lactate_mmol_l", lactate),))


def _sepsis_arrest(state: PhysiologyState) -> bool:
    return _sepsis_map(state) < 38 or state.get("infection") >= 0.999


# ---------------------------------------------------------------------------------------------
# 3. Diabetic ketoacidosis (JBDS-IP 2021)


def _dka_initial(rng: random.Random) -> dict[str, float]:
    # Typical presentation: glucose ~30, ketones > 3 (here 5.8), bicarbonate < 15, deficit ~100 ml/kg.
    return {"glucose": 30.0 + rng.uniform(-1, 1), "ketones": 5.8, "potassium": 5.4, "deficit_ml": 5000.0}


def _dka_step(state: PhysiologyState, h: dict[str, float]) -> None:
    insulin = state.effect("insulin_infusion")
    fluids = state.infusing_ml_per_min("fluid_bolus", "fluid_litre")
    # JBDS targets on insulin: ketones fall >= 0.5 mmol/L/h, glucose ~3 mmol/L/h. Untreated they rise.
    h["ketones"] = max(0.2, h["ketones"] + 0.012 * (1 - insulin) - 0.010 * insulin)
    rehydration = min(1.0, fluids / (1000 / 60))
    h["glucose"] += 0.05 * (1 - insulin) - 0.055 * insulin - 0.02 * rehydration + 0.06 * state.effect("dextrose")
    # Insulin drives potassium into cells (~0.6 mmol/L/h here); replacement adds it back.
    h["potassium"] += 0.008 * (1 - insulin) - 0.010 * insulin + 0.011 * state.effect("potassium")
    # Osmotic diuresis continues (~3 ml/min) until glucose falls; crystalloid stays (total body water deficit).
    h["deficit_ml"] = max(0.0, h["deficit_ml"] + 3.0 * _clamp((h["glucose"] - 11) / 20, 0, 1) - fluids)


def _dka_acid_base(h: dict[str, float]) -> tuple[float, float]:
    bicarbonate = _clamp(24 - 2.6 * (h["ketones"] - 0.3), 2, 26)
    pco2_mmhg = 1.5 * bicarbonate + 8                     # Winter's formula (expected compensation)
    ph = 6.1 + math.log10(bicarbonate / (0.03 * pco2_mmhg))  # Henderson-Hasselbalch
    return bicarbonate, ph


def _dka_observe(state: PhysiologyState) -> Vitals:
    h = dict(state.hidden)
    bicarbonate, ph = _dka_acid_base(h)
    d = h["deficit_ml"] / 6000
    hr = 78 + 45 * d
    sbp, dbp = 128 - 30 * d, 80 - 22 * d
    rr = 14 + 0.8 * (24 - bicarbonate)                   # Kussmaul breathing
    gcs = 15 - 20 * max(0.0, 7.25 - ph) - 3 * max(0.0, 3.5 - h["glucose"])
    return _vitals(state, hr=hr, sbp=sbp, dbp=dbp, rr=rr, spo2=_oxygen_boost(state, 98, 1), temp=37.1, gcs=gcs,
                   glucose=h["glucose"],
                   extras=(("ketones_mmol_l", h["ketones"]), ("bicarbonate_mmol_l", bicarbonate), ("ph", ph),
                           ("potassium_mmol_l", h["potassium"])))


def _dka_arrest(state: PhysiologyState) -> bool:
    h = dict(state.hidden)
    _, ph = _dka_acid_base(h)
    return ph < 6.85 or h["potassium"] < 2.3 or h["potassium"] > 7.5 or h["glucose"] < 1.2


# ---------------------------------------------------------------------------------------------
# 4. Acute severe asthma (BTS/SIGN 2019)


def _asthma_initial(rng: random.Random) -> dict[str, float]:
    # Bronchoconstriction 0..1 (PEF ~45 % predicted = acute severe, 33-50 %); fatigue 0..1.
    return {"bronchoconstriction": 0.65 + rng.uniform(-0.02, 0.02), "fatigue": 0.1}


def _asthma_effective_bronchoconstriction(state: PhysiologyState) -> float:
    relief = (0.45 * state.effect("salbutamol_neb", cap=1.4) + 0.10 * state.effect("ipratropium_neb")
              + 0.15 * state.effect("magnesium_iv"))
    return state.get("bronchoconstriction") * (1 - min(relief, 0.85))


def _asthma_step(state: PhysiologyState, h: dict[str, float]) -> None:
    steroid = state.effect("steroid")
    h["bronchoconstriction"] = _clamp(h["bronchoconstriction"] + 0.002 * (1 - steroid) - 0.003 * steroid, 0.05, 1)
    b = _asthma_effective_bronchoconstriction(state)
    # Work of breathing above a threshold tires the patient; relief lets them recover slowly.
    h["fatigue"] = _clamp(h["fatigue"] + 0.02 * (b - 0.4), 0.0, 1.0)


def _asthma_observe(state: PhysiologyState) -> Vitals:
    b = _asthma_effective_bronchoconstriction(state)
    f = state.get("fatigue")
    exhausted = max(0.0, f - 0.6) / 0.4
    pef = 100 - 85 * b
    spo2 = 99 - 12 * b ** 1.5 - 10 * f
    # Exhaustion: respiratory rate falls and consciousness drops - life-threatening features (BTS/SIGN).
    rr = 16 + 20 * b - 14 * exhausted
    hr = 85 + 45 * b + 15 * state.effect("salbutamol_neb") - 30 * exhausted ** 2   # beta-2 tachycardia
    pco2_kpa = 4.6 + 4 * exhausted - 0.6 * b     # low early (hyperventilation), rises with exhaustion
    return _vitals(state, hr=hr, sbp=132, dbp=78, rr=rr, spo2=_oxygen_boost(state, spo2, 6), temp=37.0,
                   gcs=15 - 8 * exhausted,
                   extras=(("peak_flow_percent_predicted", pef), ("paco2_kpa", pco2_kpa)))


def _asthma_arrest(state: PhysiologyState) -> bool:
    return state.get("fatigue") >= 0.999


# ---------------------------------------------------------------------------------------------
# 5. Anaphylaxis (Resuscitation Council UK 2021)


def _anaphylaxis_initial(rng: random.Random) -> dict[str, float]:
    # Mediator activity 0..1 and capillary-leak volume loss (up to 35 % of volume in 10 min: Fisher
    # MM, Anaesth Intensive Care 1986;14:17-21).
    # The trigger (allergen driving mast-cell release) fades with a ~40 min half-time, so a reaction
    # treated promptly does not come back at full strength once epinephrine wears off, although a
    # smaller recurrence can (biphasic reactions: RCUK 2021).
    return {"mediators": 0.7 + rng.uniform(-0.02, 0.02), "trigger": 1.0, "leak_ml": 500.0,
            "transient_fluid_ml": 0.0, "retained_fluid_ml": 0.0}


def _anaphylaxis_effective(state: PhysiologyState) -> float:
    return state.get("mediators") * (1 - 0.8 * state.effect("epinephrine_im", cap=1.0))


def _anaphylaxis_step(state: PhysiologyState, h: dict[str, float]) -> None:
    epi = state.effect("epinephrine_im", cap=1.5)
    # Untreated, the reaction progresses toward its peak; epinephrine stops mediator release. Time to
    # arrest untreated: median 30 min (food), 15 (venom), 5 (drugs) (Pumphrey RSH, Clin Exp Allergy
    # 2000;30:1144-50).
    h["mediators"] = _clamp(h["mediators"] + 0.015 * (1 - h["mediators"]) * h["trigger"] * (1 - min(epi, 1))
                            - 0.02 * epi * h["mediators"] - 0.01 * (1 - h["trigger"]) * h["mediators"], 0.0, 1.0)
    h["trigger"] *= math.exp(-math.log(2) / 40)
    h["leak_ml"] += 35 * _anaphylaxis_effective(state)
    crystalloid = state.infusing_ml_per_min("fluid_bolus", "fluid_litre")
    h["retained_fluid_ml"] += 0.25 * crystalloid
    h["transient_fluid_ml"] = h["transient_fluid_ml"] * math.exp(-math.log(2) / 20) + 0.75 * crystalloid


def _anaphylaxis_map(state: PhysiologyState) -> float:
    h = dict(state.hidden)
    deficit = max(0.0, h["leak_ml"] - h["retained_fluid_ml"] - h["transient_fluid_ml"]) / BLOOD_VOLUME_ML
    return 92 - 40 * _anaphylaxis_effective(state) - 60 * deficit + 12 * state.effect("epinephrine_im")


def _anaphylaxis_observe(state: PhysiologyState) -> Vitals:
    h = dict(state.hidden)
    m = _anaphylaxis_effective(state)
    deficit = max(0.0, h["leak_ml"] - h["retained_fluid_ml"] - h["transient_fluid_ml"]) / BLOOD_VOLUME_ML
    mean_ap = _anaphylaxis_map(state)
    hr = 80 + 50 * m + 200 * deficit + 15 * state.effect("epinephrine_im")
    spo2 = 99 - 14 * m
    return _vitals(state, hr=hr, sbp=mean_ap + 22, dbp=mean_ap - 11, rr=16 + 18 * m,
                   spo2=_oxygen_boost(state, spo2, 5), temp=36.8,
                   gcs=15 - max(0.0, 60 - mean_ap) / 4, extras=(("mediator_activity", m),))


def _anaphylaxis_arrest(state: PhysiologyState) -> bool:
    return _anaphylaxis_map(state) < 40


# ---------------------------------------------------------------------------------------------
# 6. Opioid overdose


def _opioid_initial(rng: random.Random) -> dict[str, float]:
    # Receptor occupancy 0..1, still rising while the drug is absorbed; hypoxic burden accumulates.
    return {"opioid": 0.82 + rng.uniform(-0.02, 0.02), "hypoxic_burden": 0.0}


def _opioid_effective(state: PhysiologyState) -> float:
    # Naloxone is a competitive antagonist; 400 mcg reverses a large part, repeated doses titrate.
    block = 0.6 * state.effect("naloxone_iv", cap=2.0) + 0.6 * state.effect("naloxone_im", cap=2.0)
    return state.get("opioid") * (1 - min(block, 0.95))


def _opioid_ventilation(state: PhysiologyState) -> tuple[float, float]:
    o = _opioid_effective(state)
    rr = 16 - 13 * o
    ventilation = max(rr / 16, state.effect("bag_valve_mask"))
    spo2 = 98 - 30 * (1 - ventilation) ** 1.3 - state.get("hypoxic_burden") / 40
    return rr, _oxygen_boost(state, spo2, 14 * ventilation + 4)


def _opioid_step(state: PhysiologyState, h: dict[str, float]) -> None:
    # Absorption for the first 20 min, then elimination (morphine half-life ~2-3 h; here 150 min).
    if state.minute < 20:
        h["opioid"] = min(1.0, h["opioid"] + 0.003)
    else:
        h["opioid"] *= math.exp(-math.log(2) / 150)
    _, spo2 = _opioid_ventilation(state)
    # Minutes spent below 85 % accumulate; sustained severe hypoxia leads to bradycardia and arrest.
    h["hypoxic_burden"] = max(0.0, h["hypoxic_burden"] + max(0.0, 85 - spo2) - (5 if spo2 > 92 else 0))


def _opioid_observe(state: PhysiologyState) -> Vitals:
    o = _opioid_effective(state)
    rr, spo2 = _opioid_ventilation(state)
    burden = state.get("hypoxic_burden")
    hr = 68 - 10 * o - burden / 12
    return _vitals(state, hr=hr, sbp=120 - 16 * o - burden / 20, dbp=75 - 10 * o, rr=rr, spo2=spo2, temp=36.0,
                   gcs=15 - 12 * o, extras=(("opioid_effect", o),))


def _opioid_arrest(state: PhysiologyState) -> bool:
    return state.get("hypoxic_burden") > 600


# ---------------------------------------------------------------------------------------------
# Registry


SCENARIOS: dict[str, ScenarioInfo] = {s.name: s for s in (
    ScenarioInfo("gi_bleed_hypovolaemia", "Hypovolaemic shock from upper GI bleeding",
                 ("blood_transfusion", "fluid_bolus", "endoscopy"),
                 (("iv_access", 10), ("blood_transfusion", 30), ("endoscopy", 60)),
                 _gi_initial, _gi_step, _gi_observe, _gi_arrest,
                 ("ATLS 10th ed. Table 3-1", "NICE CG141 (2012)", "HALT-IT, Lancet 2020")),
    ScenarioInfo("septic_shock", "Septic shock", ("antibiotics", "fluid_bolus", "noradrenaline"),
                 (("antibiotics", 60), ("fluid_bolus", 30), ("noradrenaline", 90)),
                 _sepsis_initial, _sepsis_step, _sepsis_observe, _sepsis_arrest,
                 ("Surviving Sepsis Campaign 2021", "Kumar et al. Crit Care Med 2006")),
    ScenarioInfo("diabetic_ketoacidosis", "Diabetic ketoacidosis",
                 ("fluid_litre", "insulin_infusion", "potassium", "dextrose"),
                 (("fluid_litre", 30), ("insulin_infusion", 60), ("potassium", 120)),
                 _dka_initial, _dka_step, _dka_observe, _dka_arrest, ("JBDS-IP DKA guideline 2021",)),
    ScenarioInfo("acute_severe_asthma", "Acute severe asthma",
                 ("oxygen", "salbutamol_neb", "steroid", "ipratropium_neb", "magnesium_iv"),
                 (("oxygen", 5), ("salbutamol_neb", 10), ("steroid", 60)),
                 _asthma_initial, _asthma_step, _asthma_observe, _asthma_arrest, ("BTS/SIGN asthma 2019",)),
    ScenarioInfo("anaphylaxis", "Anaphylaxis", ("epinephrine_im", "oxygen", "fluid_bolus"),
                 (("epinephrine_im", 5), ("fluid_bolus", 15)),
                 _anaphylaxis_initial, _anaphylaxis_step, _anaphylaxis_observe, _anaphylaxis_arrest,
                 ("Resuscitation Council UK 2021", "Pumphrey 2000", "Simons 2001")),
    ScenarioInfo("opioid_overdose", "Opioid overdose", ("naloxone_iv", "naloxone_im", "bag_valve_mask", "oxygen"),
                 (("bag_valve_mask", 5), ("naloxone_iv", 10)),
                 _opioid_initial, _opioid_step, _opioid_observe, _opioid_arrest,
                 ("Naloxone SmPC", "Clarke et al. Emerg Med J 2005")),
)}


# ---------------------------------------------------------------------------------------------
# Public API


def start(scenario: str, seed: int = 0) -> PhysiologyState:
    info = SCENARIOS.get(scenario)
    if info is None:
        raise UnknownScenario(f"unknown physiology scenario {scenario!r} (known: {', '.join(sorted(SCENARIOS))})")
    hidden = info.initial(random.Random(f"{scenario}:{seed}"))
    return PhysiologyState(scenario, seed, 0, tuple(sorted(hidden.items())))


def give(state: PhysiologyState, code: str) -> PhysiologyState:
    """Record a dose at the current minute (its effect follows its kinetics as time advances)."""
    if code not in INTERVENTIONS:
        raise UnknownIntervention(f"unknown intervention {code!r}")
    return replace(state, doses=state.doses + (Dose(code, state.minute),))


def advance(state: PhysiologyState, minutes: int) -> PhysiologyState:
    """Step the model one simulated minute at a time; an arrested patient stays arrested."""
    if minutes < 0:
        raise ValueError("time only moves forward")
    minutes = min(minutes, MAX_MINUTES - state.minute)
    info = SCENARIOS[state.scenario]
    for _ in range(max(0, minutes)):
        if state.arrested_at is not None:
            state = replace(state, minute=state.minute + 1)
            continue
        hidden = dict(state.hidden)
        info.step(state, hidden)
        state = replace(state, minute=state.minute + 1, hidden=tuple(sorted(hidden.items())))
        if info.arrest(state):
            state = replace(state, arrested_at=state.minute)
    return state


def simulate(scenario: str, seed: int, doses: Iterable[tuple[int, str]] | Iterable[Dose],
             until_minute: int) -> PhysiologyState:
    """Replay a timeline: each (minute, code) is given at its minute, then time runs to ``until_minute``."""
    pending = sorted(((d.minute, d.code) if isinstance(d, Dose) else (int(d[0]), str(d[1])) for d in doses),
                     key=lambda pair: pair[0])
    state = start(scenario, seed)
    for minute, code in pending:
        if minute > until_minute:
            break
        state = give(advance(state, minute - state.minute), code)
    return advance(state, until_minute - state.minute)


def trajectory(scenario: str, seed: int, doses: Iterable[tuple[int, str]], until_minute: int,
               every: int = 1) -> list[Vitals]:
    """Vitals at minutes 0, every, 2*every, ... up to ``until_minute`` (for charts and tests)."""
    pending = sorted((int(m), c) for m, c in doses)
    state = start(scenario, seed)
    out = [state.vitals()]
    for minute in range(every, until_minute + 1, every):
        for m, code in pending:
            if state.minute <= m < minute:
                state = give(advance(state, m - state.minute), code)
        state = advance(state, minute - state.minute)
        out.append(state.vitals())
    return out
