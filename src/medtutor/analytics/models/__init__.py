"""Analytics tables: early-warning runs, flags and decisions; pre-aggregated answer statistics."""

from medtutor.analytics.models.aggregates import *  # noqa: F401,F403
from medtutor.analytics.models.early_warning import *  # noqa: F401,F403
