"""Models of the licensing app."""
