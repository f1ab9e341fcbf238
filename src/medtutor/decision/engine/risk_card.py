"""Model cards (Markdown) for the risk models, generated from their training report.

Sections follow Mitchell et al., "Model Cards for Model Reporting", FAT* 2019: intended use, data,
metrics overall and by subgroup, calibration, limitations, ethical considerations.
"""

from __future__ import annotations

from medtutor.decision.engine.clinical_data import DatasetSpec
from medtutor.decision.engine.risk import KIND_LABELS


def _num(value, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def risk_model_card(*, spec: DatasetSpec, name: str, kind: str, params: dict, metrics: dict,
                    leakage: list[dict], external: dict | None, data_digest: str) -> str:
    ci = metrics.get("auc_ci") or [None, None]
    lines = [
        f"# {spec.title}: {KIND_LABELS.get(kind, kind)}",
        "",
        f"- model: `{name}`",
        f"- kind: {KIND_LABELS.get(kind, kind)}"
        + (f" (base: {KIND_LABELS.get(params.get('base', ''), params.get('base', ''))}, {params.get('calibration')})"
           if kind == "recommended" else ""),
        f"- outcome: {spec.outcome_label} (`{spec.outcome}`)",
        f"- data digest: `{data_digest[:16]}…` (SHA-256 of the training file)",
        "",
        "## Intended use",
        "",
        "**For education only — not for patient care.** This model exists so students can see how a clinical "
        "prediction model is built, evaluated, explained and audited, and where it fails. It must not be used "
        "to make or support decisions about real patients.",
        "",
        "## Data",
        "",
        f"- population: {spec.population}",
        f"- source: {spec.source}",
        f"- features ({len(params.get('features', []))}): {', '.join(params.get('features', []))}",
        f"- training rows: {metrics.get('n_train')}; test rows: {metrics.get('n_test')} ({metrics.get('test_source')})",
        "",
        "## Metrics (test rows)",
        "",
        "| metric | value |",
        "|---|---|",
        f"| AUC (95% bootstrap CI) | {_num(metrics.get('auc'))} ({_num(ci[0])}–{_num(ci[1])}) |",
        f"| Brier score | {_num(metrics.get('brier'))} |",
        f"| prevalence | {_pct(metrics.get('prevalence'))} |",
    ]
    at = metrics.get("at_threshold") or {}
    if at:
        lines += [f"| sensitivity / specificity at {at['threshold']:.2f} | {_pct(at['sensitivity'])} / "
                  f"{_pct(at['specificity'])} |",
                  f"| PPV / NPV at {at['threshold']:.2f} | {_pct(at['ppv'])} / {_pct(at['npv'])} |"]
    lines += ["", "## Calibration", "",
              f"- expected calibration error (10 equal-width bins): {_num(metrics.get('ece'))} (a perfectly "
              f"calibrated model would show about {_num(metrics.get('ece_noise_floor'))} on this many rows)",
              f"- calibration slope: {_num(metrics.get('calibration_slope'), 2)} (ideal 1); "
              f"calibration-in-the-large intercept: {_num(metrics.get('calibration_intercept'), 2)} (ideal 0)",
              "- the reliability table and plot are on this page; with under 200 test rows an ECE of a few "
              "hundredths is within sampling noise.", ""]
    lines += ["## Explanations", "",
              "Each prediction is shown with per-feature reasons: " + (
                  "exact linear contributions on the log-odds scale (coefficient × distance from the training "
                  "mean), equal to SHAP values for a linear model with independent features."
                  if kind == "logreg" else
                  "Shapley values of the risk estimated by permutation sampling against 100 training rows "
                  "(Štrumbelj & Kononenko 2014); they add up to the risk minus the base risk.")
              + " Model-level importance is permutation importance (drop in test AUC when a column is shuffled).",
              ""]
    lines += ["## Metrics by subgroup", ""]
    subgroups = (metrics.get("subgroups") or {}).get("attributes") or []
    if not subgroups:
        lines += ["No demographic attribute is recorded in these data, so no subgroup audit is possible — a "
                  "limitation in itself.", ""]
    for attribute in subgroups:
        lines += [f"**{attribute['label']}** (largest AUC gap: {_num(attribute['auc_gap'])})", "",
                  "| group | n | with outcome | AUC | sensitivity | specificity |", "|---|---|---|---|---|---|"]
        for g in attribute["groups"]:
            lines.append(f"| {g['group']} | {g['n']} | {g['positives']} | {_num(g['auc'])} | "
                         f"{_pct(g['sensitivity'])} | {_pct(g['specificity'])} |")
        lines.append("")
    if external:
        lines += [f"## External validation (trained at {external['train_site']}, logistic regression on "
                  f"{len(external['features'])} commonly recorded features)", "",
                  "| site | n | prevalence | mean predicted | AUC | ECE | calibration intercept |",
                  "|---|---|---|---|---|---|---|"]
        for s in external["sites"]:
            lines.append(f"| {s['site']} | {s['n']} | {_pct(s['prevalence'])} | {_pct(s['mean_risk'])} | "
                         f"{_num(s['auc'])} | {_num(s['ece'])} | {_num(s['calibration_intercept'], 2)} |")
        lines.append("")
    lines += ["## Leakage check", ""]
    if leakage:
        for finding in leakage:
            lines.append(f"- `{finding['feature']}` ({finding['severity']}): {'; '.join(finding['reasons'])}")
        excluded = [f["feature"] for f in leakage if f["severity"] == "leak"]
        if excluded:
            lines.append(f"- excluded from this model: {', '.join(excluded)}")
    else:
        lines.append("No column was flagged.")
    lines += ["", "## Limitations", "", spec.limitations,
              "Small samples: confidence intervals are wide and subgroup estimates rest on few patients. "
              "Performance on a test split of the same data overstates performance in another hospital or era.", "",
              "## Ethical considerations", "",
              "Historical research data encode the referral patterns, measurement practices and populations of "
              "their time and place; a model trained on them can under-serve groups that were few in the data. "
              "Predictions are shown with their reasons and are recorded in the audit log; faculty can disable "
              "the model at any time, after which it serves nothing.", ""]
    return "\n".join(lines)
