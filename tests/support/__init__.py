"""Helpers shared by tests of several layers (never imported from a test module)."""
