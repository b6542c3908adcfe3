"""A case: one fully determined check of one registered layer.

Everything a case computes (params, inputs, targets, upstream gradients) comes
from its seed, so a case is reproduced from its plain fields alone: that is
the one line every failure prints (``./harness replay ...``, which runs
``python -m properties.replay`` in the project's environment).
"""
import json
import shlex
from pathlib import Path
from dataclasses import asdict, dataclass, field

import numpy as np
from hypothesis import strategies as st

from properties import strategies as S
from properties.catalog import get
from properties.registry import module_of
from properties.values import make_dout, make_values, stream_rng


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

    @property
    def entry(self):
        return get(self.layer)

    def rng(self, stream):
        """An independent generator per purpose ("params", "inputs", "dout", ...)."""
        return stream_rng(self.seed, stream)

    def build(self, dtype=None):
        """A fresh layer with params from the seed, in ``dtype`` (default: the case's)."""
        layer = self.entry.build(self.config, self.rng("params"), np.dtype(dtype or self.dtype))
        layer.training = self.training
        return layer

    def shapes(self, batch=None):
        return [tuple(s) for s in self.entry.input_shapes(self.config, batch or self.batch)]

    def inputs(self, batch=None, stream="inputs"):
        rng = self.rng(f"{stream}{batch or ''}")
        return [make_values(self.kind, s, np.dtype(self.dtype), rng) for s in self.shapes(batch)]

    def targets(self, batch=None):
        if not self.entry.is_loss:
            return ()
        return tuple(self.entry.targets(self.config, batch or self.batch,
                                        self.rng(f"targets{batch or ''}"), np.dtype(self.dtype)))

    def dout(self, shape, stream="dout"):
        return make_dout(tuple(shape), np.dtype(self.dtype), self.rng(stream))

    def describe(self):
        """Configuration and draws in one flat dict, for messages and reports."""
        return {**self.config, "batch": self.batch, "kind": self.kind, "seed": self.seed,
                "training": self.training, **self.extra}

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
def cases(draw, entry, *, kinds, extra=None, min_batch=1):
    """Cases for ``entry``: a configuration, dtype, batch size, value kind, seed, training flag.

    Shrinks toward batch 1, float64, the first kind in ``kinds`` and seed 0.
    ``extra`` maps names to strategies for property-specific draws.
    """
    config = draw(entry.configs)
    return Case(layer=entry.name, config=config, dtype=draw(st.sampled_from(entry.dtypes)),
                batch=draw(S.batch_sizes(min_size=min_batch,
                                                max_size=max(entry.max_batch, min_batch))),
                kind=draw(S.value_kinds(kinds=kinds)), seed=draw(S.seeds()),
                training=draw(st.sampled_from(entry.training_modes)),
                extra={k: draw(v) for k, v in (extra or {}).items()})
