"""Campaigns: messages a channel manager sends to a segment, tracked links, and results."""
