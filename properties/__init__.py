"""Hypothesis strategies, the layer registry and the property battery."""
