"""A case: one fully determined check of one registered layer.

Everything a case computes (params, inputs, targets, upstream gradients) comes
from its seed, except the input values of a small case, which Hypothesis draws
itself (``values``) so that they shrink; either way a case is reproduced from
its plain fields alone: that is the one line every failure prints
(``./harness replay ...``, which runs ``python -m properties.replay`` in the
project's environment).

``drawn_in`` = "float32" on a float64 case means: every value drawn exactly as
the float32 case draws it, then cast up. That is the float64 copy of a float32
case that tells float32 round-off apart from a layer bug (``Case.upcast``).
"""
import json
import shlex
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from oracle.layer_copy import pickled
from properties import strategies as S
from properties.catalog import get
from properties.registry import module_of
from properties.values import domain_text, into_domain, make_dout, make_values, stream_rng

BUILT_KEPT = 8    # layers kept pickled, the most recently built (Case.build)
KEEP_BUILDS_OVER = 3e-4   # seconds: a build taking longer is kept (at 100k params, 1 ms)
_BUILT = OrderedDict()
_SLOW = OrderedDict()     # keys of slow builds made once, not kept yet


PAIRED_KINDS = ("normal", "large", "fd_safe")
PAIR_SPREAD = 0.1       # the second input of a pair: the first, moved by a tenth of a draw


@dataclass(frozen=True)
class Case:
    layer: str
    config: dict
    dtype: str
    batch: int
    kind: str
    seed: int
    training: bool = True
    extra: dict = field(default_factory=dict)   # property-specific draws (a second batch size)
    values: tuple = None     # per input, its flat values drawn by Hypothesis (small cases), or None
    drawn_in: str = ""       # draw every value in this dtype, then cast to ``dtype`` (see upcast)

    @property
    def entry(self):
        return get(self.layer)

    def rng(self, stream):
        """An independent generator per purpose ("params", "inputs", "dout", ...)."""
        return stream_rng(self.seed, stream)

    @property
    def draw_dtype(self):
        """The dtype values are drawn in (the case's, or ``drawn_in``'s)."""
        return np.dtype(self.drawn_in or self.dtype)

    def upcast(self):
        """This float32 case in float64: exactly the same params, inputs, targets and douts."""
        return replace(self, dtype="float64", drawn_in=self.drawn_in or self.dtype)

    def build(self, dtype=None):
        """A fresh layer with params from the seed, in ``dtype`` (default: the case's).

        A case is built several times (each property, the float64 copy finite differences
        run, the laws' fresh layers); a first build of a (case, dtype) that took more than
        ``KEEP_BUILDS_OVER`` seconds is kept pickled at its second build, and the next ones are
        copies of it (one unpickling instead of the constructor and every param drawn again),
        unless the layer cannot be pickled. (Pickling a small layer costs more than building
        it; pickling at the first build cost a quarter of a build that was never repeated.)
        """
        dtype = np.dtype(dtype or self.dtype)
        key = (self.layer, id(self.entry), repr(self.config), self.seed, self.training,
               self.drawn_in, dtype.name)
        if key in _BUILT:
            _BUILT.move_to_end(key)
            return _BUILT[key][1]()
        start = time.perf_counter()
        layer = self.entry.build(self.config, self.rng("params"), dtype)
        if self.drawn_in:
            for k in list(layer.params):
                layer.params[k] = np.asarray(layer.params[k]).astype(self.draw_dtype).astype(dtype)
        layer.training = self.training
        if time.perf_counter() - start < KEEP_BUILDS_OVER:
            return layer
        if key not in _SLOW:      # built once: most cases are (a joined trial builds once)
            _SLOW[key] = None
            if len(_SLOW) > 4 * BUILT_KEPT:
                _SLOW.popitem(last=False)
            return layer
        again = pickled(layer)
        if again is not None:
            _BUILT[key] = (self.entry, again)     # the entry held: its id is not reused
            if len(_BUILT) > BUILT_KEPT:
                _BUILT.popitem(last=False)
        return layer

    def shapes(self, batch=None):
        return [tuple(s) for s in self.entry.input_shapes(self.config, batch or self.batch)]

    def inputs(self, batch=None, stream="inputs"):
        """The inputs: the drawn ``values`` for the case's own batch, else from the seed."""
        domains = self.entry.input_domains
        if self.values is not None and batch is None and stream == "inputs":
            drawn = [np.asarray(v, np.float64).reshape(s).astype(self.draw_dtype)
                     for v, s in zip(self.values, self.shapes())]
        else:
            rng = self.rng(f"{stream}{batch or ''}")
            drawn = [make_values(self.kind, s, self.draw_dtype, rng) for s in self.shapes(batch)]
        if self.paired_close:
            # a pair loss's inputs close together on every other seed: its margin's side
            # (a contrastive hinge, a triplet's) is reached there, far apart on the others
            drawn = [drawn[0]] + [(drawn[0] + PAIR_SPREAD * v).astype(v.dtype) for v in drawn[1:]]
        return [self._cast(into_domain(v, domains[i] if i < len(domains) else None))
                for i, v in enumerate(drawn)]

    def targets(self, batch=None):
        if not self.entry.has_targets:
            return ()
        drawn = self.entry.targets(self.config, batch or self.batch,
                                   self.rng(f"targets{batch or ''}"), self.draw_dtype)
        return tuple(self._cast(t) if np.asarray(t).dtype.kind == "f" else t for t in drawn)

    def dout(self, shape, stream="dout"):
        d = make_dout(tuple(shape), self.draw_dtype, self.rng(stream))
        return np.dtype(self.dtype).type(d) if np.ndim(d) == 0 else self._cast(d)

    def dout_for(self, out, stream="dout"):
        """A random upstream gradient for ``out``; one per output (streams "dout", "dout:1", ...)
        for a layer with several outputs."""
        if isinstance(out, tuple):
            return tuple(self.dout(np.shape(o), stream if i == 0 else f"{stream}:{i}")
                         for i, o in enumerate(out))
        return self.dout(np.shape(out), stream)

    def _cast(self, a):
        return a.astype(self.dtype) if self.drawn_in else a

    @property
    def paired_close(self):
        """Are the inputs after the first the first moved by ``PAIR_SPREAD`` times their draws?"""
        return self.entry.paired and self.seed % 2 == 0 and self.kind in PAIRED_KINDS

    def describe(self):
        """Configuration and draws in one flat dict, for messages and reports (values drawn for
        an input kept in a range are said to be the drawn ones, before the map into it; a
        pair's second input, the first moved by a tenth of its drawn values, says so)."""
        ranges = [domain_text(d) for d in self.entry.input_domains if d] \
            if self.values is not None else []
        shown = f"values (mapped into {', '.join(dict.fromkeys(ranges))})" if ranges else "values"
        if self.values is not None and self.paired_close and len(self.values) > 1:
            shown += f" (every input after the first: the first + {PAIR_SPREAD:g} x its own)"
        return {**self.config, "batch": self.batch, "kind": self.kind, "seed": self.seed,
                "training": self.training, **self.extra,
                **({shown: self.values} if self.values is not None else {}),
                **({"drawn_in": self.drawn_in} if self.drawn_in else {})}

    def replay_line(self, prop):
        """The one-line command that re-runs ``prop`` on exactly this case, from any directory."""
        return replay_command(module_of(self.layer), prop, json.dumps(asdict(self), sort_keys=True))


HARNESS = Path(__file__).resolve().parent.parent / "harness"


def replay_command(source, *args):
    """``/path/to/harness replay [--import MODULE | --check FILE] ARGS...``, quoted for a shell.

    source: "" (a project layer), a module registering a planted layer, or
    "user:/abs/file.py" for a user's layer (replay re-imports that file).
    """
    flag = []
    if source.startswith("user:"):
        flag = ["--check", source[len("user:"):]]
    elif source:
        flag = ["--import", source]
    return " ".join(shlex.quote(str(a)) for a in [HARNESS, "replay", *flag, *args])


@st.composite
def cases(draw, entry, *, kinds, extra=None, min_batch=1, modes=None):
    """Cases for ``entry``: a configuration, dtype, batch size, value kind, seed, training flag.

    Shrinks toward batch 1, float64, the first kind in ``kinds`` and seed 0;
    the input values of a small case are drawn by Hypothesis and shrink toward
    0 and short decimals (``strategies.drawn_values``).
    ``extra`` maps names to strategies for property-specific draws; ``modes``:
    the ``training`` values to draw (default: the entry's ``training_modes``).
    """
    pool = S.pool_integers(draw(S.value_pool()))
    config = draw(entry.configs)
    dtype = draw(S.one_of_values(tuple(entry.dtypes)))
    min_batch = max(min_batch, entry.min_batch)
    batch = draw(S.batch_sizes(min_size=min_batch, max_size=max(entry.max_batch, min_batch)))
    kind = draw(S.value_kinds(kinds=kinds))
    values = S.drawn_values(pool, kind=kind, shapes=entry.input_shapes(config, batch))
    trainings = S.one_of_values(tuple(modes or entry.training_modes))
    return Case(layer=entry.name, config=config, dtype=dtype, batch=batch, kind=kind,
                seed=draw(S.seeds()), training=draw(trainings),
                extra={k: draw(v) for k, v in (extra or {}).items()}, values=values)
