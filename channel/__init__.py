"""The manufacturer's channel: partner organizations and their tiers (programs, claims, ledger follow)."""
