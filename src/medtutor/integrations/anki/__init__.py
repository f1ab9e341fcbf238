"""Anki .apkg import (cards, notes, images, review history) and export."""
