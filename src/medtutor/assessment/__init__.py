"""Exams and attempts: blueprints, random forms, timed and tutor modes, score reports."""
