"""Presenting results: terminal tables (and, later, HTML)."""
