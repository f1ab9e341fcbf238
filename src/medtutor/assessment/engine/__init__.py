"""Pure exam engines: blueprint assembly, option shuffling, deadlines, scoring. No Django here."""
