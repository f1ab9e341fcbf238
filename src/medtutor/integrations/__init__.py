"""Integrations with the systems a school already runs: Anki decks (more to come: LTI, xAPI, QTI, OIDC)."""
