"""Differential-diagnosis trainer sessions."""
