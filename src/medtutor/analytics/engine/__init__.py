"""Pure analytics engines: early-warning features, models, metrics and the OULAD reader (no Django)."""
