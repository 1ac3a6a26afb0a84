"""Hostile inputs for the tests: misbehaving peers (``targets``) and, later, capture files."""
