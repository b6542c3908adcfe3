"""The fault corpus of issue 16: one layer per way a verdict can go wrong (see corpus.py)."""
