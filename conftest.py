"""The project's pytest set-up lives in the plugin ``properties.pytest_plugin`` (Hypothesis
profiles, the TF warm-up), loaded in every pytest run of this environment, so that a run in a
user's own folder gets the same set-up. Choose a profile with ``--hypothesis-profile NAME``."""
