"""Reaching people: message templates, the outbox, transports and (later) nudges and inbound SMS."""
