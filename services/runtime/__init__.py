"""Machinery shared by every service: written once, used by clear, hold, build and the API."""
