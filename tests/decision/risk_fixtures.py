"""Shared, cached training for the risk tests: the engine runs once per session on a small config;
each test registers the cached report in its own transaction (fast)."""

from __future__ import annotations

from functools import lru_cache

from medtutor.decision.engine import clinical_data as cd
from medtutor.decision.engine import risk
from tests.conftest import shared_data

FAST = risk.TrainConfig(n_boot=100, importance_repeats=2, cv_folds=3)


@lru_cache(maxsize=None)
def _report(key: str):
    folder = shared_data("clinical")
    data = cd.load_dataset(folder, key)
    full = cd.load_dataset(folder, key, features=cd.DATASETS[key].feature_names)
    return risk.train_dataset(data, FAST, leakage_data=full)


def trained_report(key: str):
    shared_data("clinical", key)  # skip where the datasets are absent
    return _report(key)


def register(key: str, actor=None):
    from medtutor.decision import risk_services

    return risk_services.register_reports([(cd.DATASETS[key], trained_report(key))], actor=actor)
