"""Virtual patients: history taking, examination, tests, evolving physiology, scored debrief."""
