"""Typed ids shared by engines and apps. Imports nothing from Django so engines may use it."""

from typing import NewType

UserId = NewType("UserId", int)
LearnerId = NewType("LearnerId", int)
ItemId = NewType("ItemId", int)
ItemVersionId = NewType("ItemVersionId", int)
CardId = NewType("CardId", int)
CompetencyCode = NewType("CompetencyCode", str)  # e.g. "cardio.hf"
AuditRecordId = NewType("AuditRecordId", int)
