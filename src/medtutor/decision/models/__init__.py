"""Models of the decision-support lab, one module per part so each part owns its tables."""

from medtutor.decision.models.registry import *  # noqa: F401,F403
from medtutor.decision.models.trainer import *  # noqa: F401,F403
