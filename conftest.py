"""The project's pytest set-up lives in the plugin ``properties.pytest_plugin`` (Hypothesis
profiles, the TF warm-up), loaded in every pytest run of this environment, so that a run in a
user's own folder gets the same set-up. Choose a profile with ``--hypothesis-profile NAME``."""


def pytest_collection_modifyitems(items):
    """Modules holding a slow test (a fresh interpreter, a shared run) first, in their own
    order: under xdist (``./harness test`` runs ``-n auto``) the long ones start at once instead
    of trailing the run on one worker. A module stays in one piece, so its module-scoped
    fixtures are set up once."""
    slow = {getattr(item, "module", None) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: getattr(item, "module", None) not in slow)
