"""rewards/integrations stage."""
