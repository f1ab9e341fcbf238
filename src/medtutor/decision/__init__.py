"""Clinical decision support lab, for teaching: differential diagnosis, risk models, imaging, model cards."""
