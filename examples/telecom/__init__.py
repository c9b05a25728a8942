"""Definitions from the seed: the telecom operator the product description shows."""
