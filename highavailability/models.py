"""Models of the highavailability app."""
