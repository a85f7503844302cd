"""Fault scenarios for the whole platform (``make chaos``); see ``chaos/README.md``."""
