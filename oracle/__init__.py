"""The oracles: TF twins under GradientTape, finite differences, and the comparison model."""
