"""Pure decision-support engines: ddx, risk models, imaging. No Django here."""
