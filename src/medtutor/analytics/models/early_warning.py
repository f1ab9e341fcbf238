"""Early-warning models, flags and the human decisions on them (see analytics/early_warning.py)."""

from django.db import models  # noqa: F401

__all__: list[str] = []
