"""Notify: tells agencies of the work that is theirs, and records that they were told."""
