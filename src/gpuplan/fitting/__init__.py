"""Scaling laws and trend fits."""
