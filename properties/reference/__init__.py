"""The small reference training run that guards against regressions: our networks and their TF
twins trained side by side on real digits (``run``), our loss curves held against the checked-in
golden curves in tests/golden/ (``golden``). ``python -m properties.reference.run [--bless]``."""
