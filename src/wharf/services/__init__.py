"""Wharf's domain core: every rule lives here; interfaces only translate."""
