"""Virtual-patient cases, sessions and their events."""
