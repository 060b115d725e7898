"""Shared infrastructure every feature package may import: configuration, database, extensions.

Nothing in here imports `channel`, `roles` or `messaging`.
"""
