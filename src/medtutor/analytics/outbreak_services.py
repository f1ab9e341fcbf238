"""Outbreak detection lab: parse and check the lab's GET parameters, run the surveillance engine on a
real weekly series (optionally with an injected outbreak) and shape the result for the page.

No database: the series are public surveillance files read in place from the shared data folder
(`$MEDTUTOR_SHARED_DATA/surveillance`, else `../shared/data/surveillance` beside the checkout).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from medtutor.analytics.engine import surveillance as sv
from medtutor.core.errors import InvalidInput

DEFAULT_SERIES = "classic_series:salmonella.agona"
MAX_ALARM_ROWS = 200
MAX_SEED = 1_000_000
MAX_DURATION = 26
MAX_SIZE_CASES = 1_000_000.0
MAX_SIZE_SD = 20.0
WARMUP_WEEKS = 8  # weeks before an injected outbreak that every method also sees (CUSUM needs a run-in)


def data_dir() -> Path:
    if shared := os.environ.get("MEDTUTOR_SHARED_DATA"):
        return Path(shared) / "surveillance"
    return Path(__file__).resolve().parents[3].parent / "shared" / "data" / "surveillance"


@lru_cache(maxsize=4)
def _catalogue(root: str, stamp: tuple[float, ...]) -> dict[str, sv.WeeklySeries]:
    return sv.read_catalogue(root)


def catalogue(root: Path | None = None) -> dict[str, sv.WeeklySeries]:
    """Every series in the folder, read once per process (re-read when a file changes)."""
    root = root or data_dir()
    stamp = tuple((root / name).stat().st_mtime if (root / name).exists() else 0.0 for name in sv.CATALOGUE_FILES)
    return _catalogue(str(root), stamp)


def series_choices(series: dict[str, sv.WeeklySeries]) -> list[dict]:
    """Series grouped by source file for a <select> with <optgroup>s."""
    groups: dict[str, list[dict]] = {}
    for key, s in series.items():
        groups.setdefault(s.source, []).append({"key": key, "name": key.split(":", 1)[1], "weeks": len(s),
                                                "labelled": s.outbreak is not None})
    return [{"source": source, "series": items} for source, items in groups.items()]


# ------------------------------------------------------------------------------------------ parameters


def default_start_index(series: sv.WeeklySeries) -> int:
    return max(len(series) - 40, 0)  # a recent week with years of history before it


def date_bounds(series: sv.WeeklySeries | None) -> dict[str, str]:
    """First and last week and the default outbreak start, for the date input's limits."""
    if series is None:
        return {"first": "", "last": "", "default_start": ""}
    return {"first": series.week_starts[0].isoformat(), "last": series.week_starts[-1].isoformat(),
            "default_start": series.week_starts[default_start_index(series)].isoformat()}


@dataclass(frozen=True)
class InjectRequest:
    size: float
    size_unit: str
    shape: str
    start: int  # week index
    duration: int
    seed: int


@dataclass(frozen=True)
class LabRequest:
    series: sv.WeeklySeries
    method: sv.MethodSpec
    inject: InjectRequest | None = None
    params_shown: dict[str, str] = field(default_factory=dict)
    all_methods: tuple[sv.MethodSpec, ...] = ()  # every method with the parameters of its own fieldset


def _number(raw: str, name: str, low: float, high: float, integer: bool, problems: list[str]) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name}: '{raw}' is not a number (allowed {_fmt(low)} to {_fmt(high)})")
        return None
    if not math.isfinite(value) or value < low or value > high or (integer and not value.is_integer()):
        kind = "a whole number" if integer else "a number"
        problems.append(f"{name}: must be {kind} from {_fmt(low)} to {_fmt(high)} (got {raw})")
        return None
    return value


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


INTEGER_PARAMS = {"baseline", "years", "half_window"}


def parse_request(query: dict[str, str], series: dict[str, sv.WeeklySeries]) -> LabRequest:
    """Check every parameter; InvalidInput names each bad field with its allowed range or values."""
    problems: list[str] = []
    key = query.get("series") or (DEFAULT_SERIES if DEFAULT_SERIES in series else next(iter(series), ""))
    chosen = series.get(key)
    if chosen is None:
        problems.append(f"series: '{key}' is not one of the available series")
    method_name = query.get("method") or "C1"
    info = sv.METHODS.get(method_name)
    if info is None:
        problems.append(f"method: '{method_name}' is not one of {', '.join(sv.METHODS)}")
    specs: dict[str, sv.MethodSpec] = {}
    shown: dict[str, str] = {}
    for name, method_info in sv.METHODS.items():
        params: dict[str, float] = {}
        for pname, (default, low, high, _what) in method_info.params.items():
            field_name = f"{name}_{pname}"  # each method has its own fieldset, so C1's k is not CUSUM's k
            raw = (query.get(field_name) or "").strip()
            if pname == "min_recent" and not raw and chosen is not None and not chosen.is_count:
                raw = "0"  # the recent-cases rule is for counts, not rates
            value = default if raw == "" else _number(raw, field_name, low, high, pname in INTEGER_PARAMS, problems)
            if value is not None:
                params[pname] = value
                shown[field_name] = _fmt(value)
        specs[name] = sv.MethodSpec(name, params)
    inject = None
    if query.get("inject") == "1" and chosen is not None:
        inject = _parse_inject(query, chosen, problems)
    if problems:
        raise InvalidInput("please correct the highlighted parameters", details=problems)
    assert chosen is not None and info is not None
    return LabRequest(series=chosen, method=specs[method_name], inject=inject, params_shown=shown,
                      all_methods=tuple(specs.values()))


def _parse_inject(query: dict[str, str], series: sv.WeeklySeries, problems: list[str]) -> InjectRequest | None:
    size_unit = query.get("size_unit") or "sd"
    if size_unit not in ("sd", "cases"):
        problems.append(f"size_unit: '{size_unit}' must be sd or cases")
        size_unit = "sd"
    high = MAX_SIZE_SD if size_unit == "sd" else MAX_SIZE_CASES
    size = _number(query.get("size") or "3", "size", 0, high, False, problems)
    shape = query.get("shape") or "lognormal"
    if shape not in sv.SHAPES:
        problems.append(f"shape: '{shape}' must be one of {', '.join(sv.SHAPES)}")
    duration = _number(query.get("duration") or "6", "duration", 1, MAX_DURATION, True, problems)
    seed = _number(query.get("seed") or "1", "seed", 0, MAX_SEED, True, problems)
    first, last = series.week_starts[0], series.week_starts[-1]
    raw_start = (query.get("start") or "").strip()
    start_index = None
    if not raw_start:
        start_index = default_start_index(series)
    else:
        from datetime import date

        try:
            start_date = date.fromisoformat(raw_start)
        except ValueError:
            problems.append(f"start: '{raw_start}' is not a date (YYYY-MM-DD, from {first} to {last})")
        else:
            if not first <= start_date <= last:
                problems.append(f"start: must be from {first} to {last} (got {raw_start})")
            else:
                start_index = next(i for i, w in enumerate(series.week_starts) if w >= start_date
                                   or i == len(series) - 1)
    if start_index is not None and duration is not None and start_index + int(duration) > len(series):
        problems.append(f"duration: from that start at most {len(series) - start_index} weeks fit in the series")
    if size is None or duration is None or seed is None or start_index is None or shape not in sv.SHAPES:
        return None
    return InjectRequest(size=size, size_unit=size_unit, shape=shape, start=start_index, duration=int(duration),
                         seed=int(seed))


# ------------------------------------------------------------------------------------------- running


@dataclass
class LabResult:
    request: LabRequest
    weeks: list[str]
    values: list[float | None]  # as analysed (with the injected outbreak when there is one)
    threshold: list[float | None]
    alarms: list[dict]  # alarm weeks: date, value, threshold, inside the injected outbreak or labelled
    alarm_count: int
    evaluated_weeks: int
    alarms_per_year: float | None
    added: list[float] | None = None
    injected_total: float | None = None
    injection_window: tuple[str, str] | None = None
    comparison: list[dict] = field(default_factory=list)
    labelled: dict | None = None
    note: str = ""

    def chart(self) -> dict:
        return {"weeks": self.weeks, "values": self.values, "threshold": self.threshold,
                "alarms": [a["index"] for a in self.alarms_all], "added": self.added,
                "method": sv.METHODS[self.request.method.name].label}

    alarms_all: list[dict] = field(default_factory=list)


def _clean(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 4)


def run_lab(request: LabRequest) -> LabResult:
    s = request.series
    y = s.array()
    analysed = y
    injection = None
    if request.inject is not None:
        i = request.inject
        try:
            injection = sv.inject_outbreak(y, i.start, i.duration, i.size, i.shape, i.size_unit, seed=i.seed)
        except ValueError as exc:
            raise InvalidInput("the outbreak cannot be injected there", details=[f"start: {exc}"]) from None
        analysed = injection.values
    detection = request.method.run(analysed)
    inside = np.zeros(len(s), dtype=bool)
    if injection is not None:
        inside[injection.start:injection.start + injection.duration] = True
    labels = np.array(s.outbreak, dtype=bool) if s.outbreak is not None else None
    weeks = [w.isoformat() for w in s.week_starts]
    alarm_rows = []
    for t in np.flatnonzero(detection.alarms):
        alarm_rows.append({"index": int(t), "week": weeks[t], "value": _clean(analysed[t]),
                           "threshold": _clean(detection.threshold[t]), "injected": bool(inside[t]),
                           "labelled": bool(labels[t]) if labels is not None else None})
    evaluated = int(detection.evaluated.sum())
    result = LabResult(
        request=request, weeks=weeks, values=[_clean(v) for v in analysed],
        threshold=[_clean(v) for v in detection.threshold], alarms=alarm_rows[:MAX_ALARM_ROWS],
        alarms_all=alarm_rows, alarm_count=len(alarm_rows), evaluated_weeks=evaluated,
        alarms_per_year=_clean(sv.alarms_per_year(detection, exclude=inside)) if evaluated else None)
    if evaluated == 0:
        need = request.method.history_needed
        result.note = (f"{sv.METHODS[request.method.name].label} needs about {need} weeks of history; this series "
                       f"has {len(s)} weeks, so no week could be evaluated. Choose a shorter baseline or a longer series.")
    if labels is not None:
        # quirks documented in the data README (r_surveillance_pkg/README.md)
        result.note = (result.note + " " if result.note else "") + (
            "Labelled RKI series: weeks from 2004 week 38 on are zeros padded by the original query, not "
            "observations, and an outbreak in the first weeks has no history before it. The published "
            "comparison (medtutor bench outbreak) prepends two copies of the first 208 weeks, as the R "
            "package vignette did; this page does not.")
    if labels is not None and evaluated:
        score = sv.score_against_labels(detection.alarms & detection.evaluated, labels)
        result.labelled = {"tp": score.tp, "fp": score.fp, "tn": score.tn, "fn": score.fn,
                           "sensitivity": _clean(score.sensitivity), "specificity": _clean(score.specificity),
                           "mean_lag": _clean(score.mean_lag), "outbreaks": len(score.lags)}
    if injection is not None:
        result.added = [_clean(v) for v in injection.added]
        result.injected_total = injection.total
        result.injection_window = (weeks[injection.start], weeks[injection.start + injection.duration - 1])
        result.comparison = compare_methods(analysed, injection, request.all_methods or (request.method,),
                                            request.method.name, weeks)
    return result


def compare_methods(values: np.ndarray, injection: sv.Injection, methods: tuple[sv.MethodSpec, ...],
                    chosen: str, weeks: list[str]) -> list[dict]:
    """Every method, each with the parameters of its fieldset, on the injected outbreak's weeks (plus a
    run-in); the earliest detector(s) are marked."""
    rows = []
    window = (injection.start - WARMUP_WEEKS, injection.start + injection.duration)
    for spec in methods:
        detection = spec.run(values, window)
        outcome = sv.injection_outcome(detection, injection.start, injection.duration)
        evaluated = bool(detection.evaluated[injection.start:injection.start + injection.duration].any())
        rows.append({"method": spec.name, "label": sv.METHODS[spec.name].label, "chosen": spec.name == chosen,
                     "evaluated": evaluated, "detected": outcome.detected, "delay": outcome.delay,
                     "first_alarm": weeks[injection.start + outcome.delay] if outcome.delay is not None else None,
                     "history_needed": spec.history_needed})
    delays = [r["delay"] for r in rows if r["delay"] is not None]
    for r in rows:
        r["first"] = bool(delays) and r["delay"] == min(delays)
    return rows


def method_forms(query: dict[str, str], problems: list[str] | tuple[str, ...] = (), is_count: bool = True) -> list[dict]:
    """Every method's fieldset: parameters with defaults and ranges, the submitted values kept (also when
    they were rejected, so the user can correct them) and the rejected ones flagged."""
    chosen_name = query.get("method") or "C1"
    forms = []
    for name, info in sv.METHODS.items():
        fields = []
        for pname, (default, low, high, what) in info.params.items():
            field_name = f"{name}_{pname}"
            if pname == "min_recent" and not is_count:
                default = 0.0
            fields.append({"name": field_name, "label": what, "default": _fmt(default), "min": _fmt(low),
                           "max": _fmt(high), "value": query.get(field_name) or _fmt(default),
                           "step": "1" if pname in INTEGER_PARAMS else "any",
                           "invalid": any(p.startswith(field_name + ":") for p in problems)})
        forms.append({"name": name, "label": info.label, "fields": fields, "chosen": name == chosen_name})
    return forms
