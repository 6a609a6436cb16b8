"""contexts stage."""
