"""Outbreak-detection engine: detectors on planted outbreaks, CUSUM reset, Farrington with a trend,
exact injection, evaluation metrics on hand-made examples, loading and validating the shared files."""

from __future__ import annotations

import numpy as np
import pytest

from medtutor.analytics.engine import surveillance as sv
from tests.conftest import shared_data


def noisy_baseline(weeks: int = 120, level: float = 20.0, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).poisson(level, weeks).astype(float)


def test_ears_c1_alarms_on_planted_outbreak_weeks_only():
    y = noisy_baseline()
    y[60:63] += [40, 60, 45]  # planted outbreak: weeks 60-62, far above a Poisson(20) baseline
    detection = sv.ears(y, "C1")
    alarms = set(np.flatnonzero(detection.alarms))
    assert 60 in alarms and 61 in alarms
    assert alarms <= {60, 61, 62}  # nothing on the baseline before or after
    # the threshold is mean + 3 SD of the 7 weeks before
    window = y[53:60]
    assert detection.threshold[60] == pytest.approx(window.mean() + 3 * window.std(ddof=1))


def test_ears_variants_silent_on_flat_baseline():
    y = np.full(80, 12.0)
    for variant in ("C1", "C2", "C3"):
        detection = sv.ears(y, variant)
        assert detection.evaluated.sum() > 60
        assert not detection.alarms.any(), variant


def test_ears_c2_guard_band_and_c3_accumulates():
    y = noisy_baseline(seed=5)
    y[70:74] += [15, 20, 25, 30]  # a moderate ramp
    c2 = sv.ears(y, "C2")
    c3 = sv.ears(y, "C3")
    # C2's baseline ends 3 weeks back, so the first outbreak weeks are not in it
    assert np.isnan(c2.threshold[:9]).all() and not np.isnan(c2.threshold[9])
    assert c3.alarms[70:74].any()
    first_c3 = int(np.flatnonzero(c3.alarms[70:])[0])
    first_c2 = int(np.flatnonzero(c2.alarms[70:])[0]) if c2.alarms[70:].any() else 99
    assert first_c3 <= first_c2


def test_ears_ignores_missing_weeks():
    y = noisy_baseline()
    y[30] = np.nan
    detection = sv.ears(y, "C1")
    assert not detection.evaluated[30] and not detection.alarms[30]
    assert detection.evaluated[31]


def test_cusum_resets_after_alarm_and_signals_again():
    y = np.full(60, 10.0) + np.tile([0.5, -0.5], 30)
    y[30:40] += 5.0  # a sustained shift of about 10 baseline SDs
    detection = sv.cusum(y, k=0.5, h=4.0, baseline=8, guard=20)
    alarm_weeks = np.flatnonzero(detection.alarms)
    assert alarm_weeks[0] == 30
    # after the alarm S restarts at 0, so the next week alarms only if it alone exceeds h + k
    assert len(alarm_weeks) >= 2
    # after the shift ends the statistic decays: no alarm on the baseline before the shift
    assert not detection.alarms[:30].any()


def test_cusum_without_reset_would_keep_alarming():
    y = np.full(50, 10.0) + np.tile([0.5, -0.5], 25)
    y[30] += 4.0  # a single excess just over h + k SDs above the mean
    detection = sv.cusum(y, k=0.5, h=3.0, baseline=8)
    assert detection.alarms[30]
    # the reset means the ordinary weeks after it do not alarm on the carried-over sum
    assert not detection.alarms[31:].any()


def seasonal_counts(years: int, trend: float, seed: int) -> np.ndarray:
    weeks = np.arange(52 * years)
    mu = np.exp(np.log(10) + trend * weeks / 52 + 0.4 * np.sin(2 * np.pi * weeks / 52))
    return np.random.default_rng(seed).poisson(mu).astype(float)


def test_farrington_follows_a_significant_trend():
    y = seasonal_counts(6, trend=0.15, seed=11)  # counts rise about 16% a year
    last = y.size - 10
    detection = sv.farrington(y, years=5, half_window=3, evaluate=(last, last + 1))
    flat = sv.farrington(y, years=5, half_window=3, trend_p=1e-12, evaluate=(last, last + 1))
    assert detection.evaluated[last]
    # with the trend the threshold is extrapolated upwards; without it, it sits near the past years' level
    assert detection.threshold[last] > flat.threshold[last]
    calm = sv.farrington(y, years=5, half_window=3, evaluate=(5 * 52 + 3, y.size))
    assert calm.alarms[calm.evaluated].mean() < 0.1
    # a trend so steep that the prediction exceeds every reference value is dropped (Farrington 1996)
    steep = seasonal_counts(6, trend=0.35, seed=11)
    with_rule = sv.farrington(steep, years=5, half_window=3, evaluate=(last, last + 1))
    without_trend = sv.farrington(steep, years=5, half_window=3, trend_p=1e-12, evaluate=(last, last + 1))
    assert with_rule.threshold[last] == pytest.approx(without_trend.threshold[last])


def test_farrington_detects_planted_outbreak_and_downweights_past_ones():
    y = seasonal_counts(5, trend=0.0, seed=2)
    y[60:64] += 40  # an outbreak one year before the test weeks
    t = 60 + 52 * 3 + 1
    y[t] += 45
    detection = sv.farrington(y, years=3, half_window=3, evaluate=(t - 2, t + 1))
    assert detection.alarms[t]
    # compare without the trend term so only the weights differ
    reweighted = sv.farrington(y, years=3, half_window=3, trend_p=1e-12, evaluate=(t, t + 1))
    no_reweight = sv.farrington(y, years=3, half_window=3, trend_p=1e-12, reweight_above=1e9, evaluate=(t, t + 1))
    assert reweighted.threshold[t] < no_reweight.threshold[t]


def test_serfling_alarms_above_seasonal_curve():
    y = seasonal_counts(5, trend=0.0, seed=4)
    t = y.size - 5
    y[t] += 60
    detection = sv.serfling(y, years=3, evaluate=(t - 10, y.size))
    assert detection.alarms[t]
    assert detection.alarms[t - 10:t].sum() <= 1


@pytest.mark.parametrize("shape", sv.SHAPES)
def test_injection_adds_exactly_the_intended_cases(shape):
    y = noisy_baseline()
    injection = sv.inject_outbreak(y, start=50, duration=5, size=37, shape=shape, size_unit="cases", seed=9)
    added = injection.values - y
    assert added.sum() == 37 and injection.total == 37
    assert (added[:50] == 0).all() and (added[55:] == 0).all()
    assert (added == np.round(added)).all()
    again = sv.inject_outbreak(y, start=50, duration=5, size=37, shape=shape, size_unit="cases", seed=9)
    assert (again.values == injection.values).all()


def test_injection_shapes_and_sd_sizing():
    assert sv.outbreak_profile("spike", 1).tolist() == [1.0]
    ramp = sv.outbreak_profile("ramp", 4)
    assert ramp.tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4])
    lognormal = sv.outbreak_profile("lognormal", 9)
    assert lognormal.sum() == pytest.approx(1.0) and int(np.argmax(lognormal)) < 4
    rates = np.linspace(1.0, 2.0, 80)  # a non-count series gets the exact profile
    injection = sv.inject_outbreak(rates, 60, 4, 2.0, "spike", "sd", seed=0)
    sd = rates[8:60].std(ddof=1)
    assert injection.added[60:64].tolist() == pytest.approx([2.0 * sd] * 4)
    with pytest.raises(ValueError):
        sv.inject_outbreak(rates, 78, 5, 1.0)
    with pytest.raises(ValueError):
        sv.outbreak_profile("plateau", 3)


def test_injection_skips_unreported_weeks():
    y = noisy_baseline()
    y[51] = np.nan
    injection = sv.inject_outbreak(y, 50, 3, 30, "spike", "cases", seed=1)
    assert np.isnan(injection.values[51])
    assert np.nansum(injection.values) - np.nansum(y) == 30


def test_labelled_scores_on_a_hand_made_example():
    labels = [0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0]
    alarms = np.array([0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
    score = sv.score_against_labels(alarms, labels, penalty=20)
    assert (score.tp, score.fp, score.tn, score.fn) == (1, 1, 6, 4)
    assert score.sensitivity == pytest.approx(0.2)
    assert score.specificity == pytest.approx(6 / 7)
    # first outbreak (week 2) alarmed at week 4: lag 2; the second (week 8) never: penalty 20
    assert score.lags == (2, 20) and score.mean_lag == pytest.approx(11.0)
    assert sv.outbreak_runs(labels) == [(2, 3), (8, 2)]


def test_injection_outcome_and_alarm_rate():
    alarms = np.zeros(104, dtype=bool)
    alarms[[10, 40, 62]] = True
    detection = sv.Detection("C1", alarms, np.zeros(104), np.ones(104, dtype=bool))
    outcome = sv.injection_outcome(detection, start=60, duration=4)
    assert outcome.detected and outcome.delay == 2
    assert not sv.injection_outcome(detection, start=70, duration=4).detected
    outside = np.zeros(104, dtype=bool)
    outside[60:64] = True
    assert sv.alarms_per_year(detection, exclude=outside) == pytest.approx(2 / 100 * sv.WEEKS_PER_YEAR)


def test_evaluate_injections_is_seeded_and_finds_big_outbreaks():
    y = seasonal_counts(5, trend=0.0, seed=8)
    methods = [sv.MethodSpec("C1"), sv.MethodSpec("CUSUM"), sv.MethodSpec("Farrington")]
    first = sv.evaluate_injections(y, methods, seeds=15, size=8, size_unit="sd", duration=4)
    second = sv.evaluate_injections(y, methods, seeds=15, size=8, size_unit="sd", duration=4)
    assert first == second
    for summary in first:
        assert summary.sensitivity >= 0.8, summary
        assert summary.median_delay is not None and summary.median_delay <= 2


def test_read_series_file_validates(tmp_path):
    good = tmp_path / "mine.csv"
    good.write_text("week_start,value\n2020-01-06,3\n2020-01-13,\n2020-01-20,5\n")
    series = sv.read_series_file(good)["mine:mine"]
    assert series.values == (3.0, None, 5.0) and series.is_count
    for body, needle in [("week_start,value\n2020-01-06,-1\n", "line 2"),
                         ("week_start,value\n2020-13-06,1\n", "week_start"),
                         ("week_start,value\n2020-01-06,1\n2020-01-09,2\n", "not weekly"),
                         ("week_start,value\n2020-01-06,1\n2020-01-06,2\n", "twice"),
                         ("date,count\n2020-01-06,1\n", "week_start and value")]:
        bad = tmp_path / "bad.csv"
        bad.write_text(body)
        with pytest.raises(sv.SeriesFormatError, match=needle):
            sv.read_series_file(bad)


def test_shared_labelled_file_reproduces_published_farrington_row():
    """The vignette's Farrington row on the 14 RKI series: TP 43, FP 71, sens 0.197, spec 0.974, lag 4.79."""
    path = shared_data("surveillance", "r_surveillance_pkg", "labelled_outbreaks.csv")
    series = sv.read_series_file(path)
    rki = [series[f"labelled_outbreaks:{name}"] for name in sv.RKI_SERIES]
    assert all(s.outbreak is not None and len(s) == 209 for s in rki)
    score = sv.evaluate_labelled(rki, [sv.MethodSpec("Farrington", sv.RKI_FARRINGTON_PARAMS)])["Farrington"]
    assert score.tp + score.fp + score.tn + score.fn == 14 * 209
    assert sum(s.outbreak.count(1) for s in rki) == score.tp + score.fn == 218
    published_sens, published_spec, published_lag = sv.PUBLISHED_RKI["farrington(3,0,5)"]
    assert abs(score.sensitivity - published_sens) <= 0.02
    assert abs(score.specificity - published_spec) <= 0.02
    assert abs(score.mean_lag - published_lag) <= 0.5


def test_injections_avoid_unreported_gaps():
    y = seasonal_counts(4, trend=0.0, seed=6)
    y[120:170] = np.nan  # a long reporting gap, like ILINet's early off-season weeks
    summaries = sv.evaluate_injections(y, [sv.MethodSpec("C1")], seeds=30, size=6, duration=4)
    assert summaries[0].runs == 30 and summaries[0].sensitivity > 0.5


def test_bench_command_runs_on_any_file_of_the_layout(tmp_path):
    from typer.testing import CliRunner

    from medtutor.cli import app

    weeks = seasonal_counts(5, trend=0.0, seed=1)
    lines = ["week_start,value"] + [f"{np.datetime64('2015-01-05') + np.timedelta64(7 * i, 'D')},{int(v)}"
                                    for i, v in enumerate(weeks)]
    data = tmp_path / "my_counts.csv"
    data.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["bench", "outbreak", "--data", str(data), "--seeds", "10",
                                      "--labelled", str(tmp_path / "none.csv")])
    assert result.exit_code == 0, result.output
    for label in ("EARS C1", "EARS C2", "EARS C3", "CUSUM", "Serfling regression", "Farrington-style"):
        assert label in result.output
    assert "RKI comparison skipped" in result.output
    bad = CliRunner().invoke(app, ["bench", "outbreak", "--data", str(data), "--shape", "square"])
    assert bad.exit_code != 0 and "--shape" in bad.output


def test_c3_threshold_matches_its_alarm_rule():
    y = noisy_baseline(seed=12)
    y[80:84] += [12, 18, 24, 30]
    detection = sv.ears(y, "C3")
    for t in np.flatnonzero(detection.evaluated):
        if not np.isnan(detection.threshold[t]):
            assert detection.alarms[t] == (y[t] > detection.threshold[t] + 1e-9) or \
                abs(y[t] - detection.threshold[t]) < 1e-6, t
