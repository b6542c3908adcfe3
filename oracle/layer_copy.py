"""Fresh copies of one layer snapshot, cheaply: what every finite-difference evaluation starts from.

Each evaluation must see the same layer state (a dropout layer must draw the
same mask every time), so each runs on its own copy of one snapshot.
``copy.deepcopy`` walks the object graph in Python and costs more than a small
layer's forward; here the snapshot is pickled once and each copy is one
unpickling, done in C. Arrays passed as ``shared`` (the params, which every
evaluation replaces anyway) are left out of the pickle and shared, not copied.
A snapshot that cannot be pickled (a local class, a lambda attribute) is copied
with ``copy.deepcopy`` instead, sharing the same arrays.
"""
import copy
import io
import pickle


class _Pickler(pickle.Pickler):
    def __init__(self, file, shared):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.shared = shared

    def persistent_id(self, obj):
        return id(obj) if id(obj) in self.shared else None


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
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, keep).dump(snapshot)
    except (pickle.PicklingError, TypeError, AttributeError):
        return lambda: copy.deepcopy(snapshot, dict(keep))
    blob = buffer.getvalue()
    return lambda: _Unpickler(io.BytesIO(blob), keep).load()
