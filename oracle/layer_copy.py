"""Fresh copies of one layer snapshot, cheaply: what every finite-difference evaluation starts from.

Each evaluation must see the same layer state (a dropout layer must draw the
same mask every time), so each runs on its own copy of one snapshot.
``copy.deepcopy`` walks the object graph in Python and costs more than a small
layer's forward; here the snapshot is pickled once and each copy is one
unpickling, done in C. Arrays passed as ``shared`` (the params, which every
evaluation replaces anyway) are left out of the pickle and shared, not copied,
and so are classes, functions and modules (a user's class from a file that is not
an importable module, a lambda attribute). A snapshot that still cannot be
pickled (a lock, an open file) is copied with ``copy.deepcopy``, sharing the
same arrays.
"""
import copy
import io
import pickle
import types

# Kept by reference, never pickled by name: a user's class, loaded from a file that is not
# an importable module, cannot be found by name again (``copy.deepcopy`` keeps these too).
# Builtin functions are left to pickle: by name, or a bound one (``self.push =
# self.buf.append``) rebound to the copy's own object.
BY_REFERENCE = (type, types.FunctionType, types.ModuleType)


class _Pickler(pickle.Pickler):
    def __init__(self, file, shared):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.shared = shared

    def persistent_id(self, obj):
        if id(obj) in self.shared:
            return id(obj)
        if isinstance(obj, BY_REFERENCE):   # as deepcopy does: a class or function is itself
            self.shared[id(obj)] = obj
            return id(obj)
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, shared):
        super().__init__(file)
        self.shared = shared

    def persistent_load(self, pid):
        return self.shared[pid]


def copier(snapshot, shared=()):
    """A function returning a fresh copy of ``snapshot`` on every call, the ``shared`` objects
    (by identity) not copied. The snapshot must not change after this call."""
    keep = {id(obj): obj for obj in shared}
    return pickled(snapshot, keep) or (lambda: copy.deepcopy(snapshot, dict(keep)))


def pickled(snapshot, keep=None):
    """Like :func:`copier`, but None when ``snapshot`` cannot be pickled; otherwise the copies
    owe nothing to the snapshot (it may change after this call) but the objects kept by
    reference (``keep``: id -> object, and the classes, functions and modules it holds)."""
    keep = {} if keep is None else keep
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, keep).dump(snapshot)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    blob = buffer.getvalue()
    return lambda: _Unpickler(io.BytesIO(blob), keep).load()
