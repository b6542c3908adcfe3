"""NumPy's global random state around a layer's forwards: seeded for each, kept for the caller.

Tutorial layers draw dropout masks from ``np.random``'s global state; the harness seeds
it from the case before every forward, so a check is repeatable, and gives the caller's
state back at the end. Generators are found here too: those a layer holds (rewound, and a
user's seeded from the case at every build: ``reseed``), and those kept at the top of the
layer's module (put back before every forward).
"""
import copy
import types

import numpy as np


class kept_global_rng:
    """NumPy's global random state saved on entry and restored on exit, once around many
    evaluations that each seed it (``Trial.float64_function``); nested, the inner one is free."""

    depth = 0

    def __enter__(self):
        if kept_global_rng.depth == 0:
            self.saved = np.random.get_state()
        kept_global_rng.depth += 1
        return self

    def __exit__(self, *exc):
        kept_global_rng.depth -= 1
        if kept_global_rng.depth == 0:
            np.random.set_state(self.saved)
        return False


class seeded_global_rng:
    """Seed NumPy's global random state for one forward; ``used()`` says if it was drawn from.

    Use is seen by one probe draw after the forward, compared with the first draw of a
    freshly seeded state: a layer that drew (or reseeded) moved the state, so the probe
    differs. Inside :class:`kept_global_rng` (every property runs inside one,
    ``properties.declare``) the caller's state is restored once, when that ends; alone,
    it is saved and restored around this forward. (Saving NumPy's state costs about
    50 µs and restoring it as much: more than a small layer's forward, of which an
    example makes several.)
    """

    first = {}   # seed -> the first draw after seeding

    def __init__(self, seed):
        self.seed = seed % 2 ** 32

    def __enter__(self):
        self.kept = kept_global_rng.depth > 0
        self.saved = None if self.kept else np.random.get_state()
        if self.seed not in seeded_global_rng.first:
            if len(seeded_global_rng.first) > 4096:
                seeded_global_rng.first.clear()
            np.random.seed(self.seed)
            seeded_global_rng.first[self.seed] = np.random.random_sample()
        np.random.seed(self.seed)
        self._used = False
        return lambda: self._used

    def __exit__(self, *exc):
        self._used = np.random.random_sample() != seeded_global_rng.first[self.seed]
        if not self.kept:
            np.random.set_state(self.saved)
        return False


def generator_states(obj, depth=4):
    """[(generator, its state)] for every NumPy generator ``obj`` holds (``np.random.Generator``
    or ``RandomState``, in its attributes and theirs, lists and dicts included), for
    :func:`rewind`: a dropout drawing from a generator of its own draws another mask each call."""
    return [(o, _state(o)) for o in _walk(obj, depth) if _is_generator(o)]


def module_generator_states(obj, depth=4):
    """[(generator, its state)] for the NumPy generators kept at the top level of the modules
    that define ``obj``'s classes and those of what it holds (``RNG = np.random.default_rng(42)``
    beside a user's dropout), NumPy's and the harness's own modules apart. A module is read
    through its functions' globals: a user's file is imported and then dropped from
    ``sys.modules``."""
    found, read = [], set()
    for cls in {type(o) for o in _walk(obj, depth)}:
        if cls.__module__.split(".")[0] in NOT_USERS:
            continue
        for fn in vars(cls).values():
            space = getattr(fn, "__globals__", None)
            if space is None or id(space) in read:
                continue
            read.add(id(space))
            found += [(v, _state(v)) for v in list(space.values())
                      if _is_generator(v) and all(v is not g for g, _ in found)]
    return found


NOT_USERS = ("builtins", "numpy", "layers", "properties", "oracle")


def _is_generator(o):
    return isinstance(o, (np.random.Generator, np.random.RandomState))


def _state(g):
    return g.bit_generator.state if isinstance(g, np.random.Generator) else g.get_state()


def _walk(obj, depth):
    """``obj`` and what it holds (attributes, list, tuple and dict items), ``depth`` levels down;
    arrays, classes, modules, functions and strings are not entered."""
    seen = set()

    def walk(o, d):
        if d < 0 or id(o) in seen or isinstance(o, (np.ndarray, type, types.ModuleType,
                                                    types.FunctionType, str, bytes)):
            return
        seen.add(id(o))
        yield o
        if _is_generator(o):
            return
        items = (o.values() if isinstance(o, dict) else o if isinstance(o, (list, tuple))
                 else vars(o).values() if hasattr(o, "__dict__") else ())
        for v in items:
            yield from walk(v, d - 1)
    return list(walk(obj, depth))


def reseed(obj, rng):
    """Seed every NumPy generator ``obj`` holds from ``rng`` (a copy of it: ``rng`` itself draws
    on as if nothing happened); True when there was one. A generator made unseeded in a
    constructor (``np.random.default_rng()``) draws other numbers in every build, and the
    harness compares builds of one case (the layer and its float64 copy, a fresh layer):
    seeded from the case, every build draws alike, as NumPy's global state is seeded from the
    case before every forward."""
    held = generator_states(obj)
    if not held:
        return False
    source = np.random.Generator(copy.deepcopy(rng.bit_generator))
    for g, _ in held:
        seed = int(source.integers(2 ** 63))
        if isinstance(g, np.random.Generator):
            g.bit_generator.state = type(g.bit_generator)(seed).state
        else:
            g.seed(seed % 2 ** 32)
    return True


def rewind(states):
    """Put each generator of :func:`generator_states` back where it was."""
    for g, state in states:
        if isinstance(g, np.random.Generator):
            g.bit_generator.state = state
        else:
            g.set_state(state)


def moved(generator, state):
    """Has ``generator`` drawn since its state was ``state`` (as :func:`generator_states` took it)?"""
    if isinstance(generator, np.random.Generator):
        return generator.bit_generator.state != state
    now = generator.get_state()
    return any(not np.array_equal(a, b) for a, b in zip(now, state))
