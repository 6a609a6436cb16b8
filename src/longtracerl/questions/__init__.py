"""questions stage."""
