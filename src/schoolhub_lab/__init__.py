"""The local lab and the container test hosts (never used in production)."""
