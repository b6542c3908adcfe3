"""Hand-written NumPy layers: the code under test. Imports NumPy only.

Every public class defined in a module of this folder is exported here, so a
new layer needs no import line: ``from layers import ELU`` works as soon as
``class ELU`` exists in any ``layers/*.py``.
"""
import importlib
import inspect
import pkgutil

__all__ = []
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _name, _obj in vars(_module).items():
        if inspect.isclass(_obj) and _obj.__module__ == _module.__name__ and not _name.startswith("_"):
            globals()[_name] = _obj
            __all__.append(_name)
del _info, _module, _name, _obj
