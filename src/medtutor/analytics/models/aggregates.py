"""Pre-aggregated answer statistics for the cohort dashboard and curriculum analytics."""

from django.db import models  # noqa: F401

__all__: list[str] = []
