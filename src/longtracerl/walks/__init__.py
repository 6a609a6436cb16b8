"""walks stage."""
