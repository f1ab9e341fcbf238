"""Model registry: versioned trained models with data digest, parameters, metrics and model card."""
