"""Pure simulation engines: case model, interview, physiology, scoring. No Django here."""
