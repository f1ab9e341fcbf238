"""Exporter errors."""


class ExportError(ValueError):
    """The bundle holds records the chosen format cannot represent."""
