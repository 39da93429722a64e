"""Models of the generator app."""
