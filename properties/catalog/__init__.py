"""The project's registered layers, one module per family; every module here is loaded.

``entries()`` and ``get()`` are how the rest of the harness finds an entry:
they load this folder first, so a new catalog module needs no import line.
"""
import importlib
import pkgutil

from properties.registry import PLANTED, REGISTRY

_loaded = []


def load():
    """Import every catalog module once (each registers its entries)."""
    if not _loaded:
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            importlib.import_module(f"{__name__}.{info.name}")
        _loaded.append(True)


def entries():
    """Every registered entry of the project, in registration order."""
    load()
    return list(REGISTRY.values())


def get(name):
    """The entry called ``name``, registered or planted."""
    load()
    if name in PLANTED:
        return PLANTED[name]
    if name not in REGISTRY:
        raise KeyError(f"no registered layer {name!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[name]
