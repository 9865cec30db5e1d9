"""Checks: claims (each with a verdict and its numbers) and validation against published runs."""
