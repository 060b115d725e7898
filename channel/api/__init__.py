"""The REST API under /api/v1: integration tokens, scoped reads, idempotent writes, its spec."""
