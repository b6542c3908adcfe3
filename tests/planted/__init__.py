"""Deliberately broken layers, one bug each, registered as planted entries.

They prove the harness's mechanism: each must be caught by the property the
bug violates, while every correct layer passes. Importing a module registers
its planted entries (``properties.registry.PLANTED``), never the real registry.
"""
