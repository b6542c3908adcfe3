"""Save and load model params and optimizer state in one ``.npz`` file (as seed 002 does).

The file holds ``param/<name>`` for every param, ``slot/<slot>/<name>`` for
every optimizer state array, and ``meta``: a JSON string with the optimizer's
class and hyperparameters, its counters ``t`` and ``epoch``, and optionally the
state of the training loop's random generator (so a resumed run draws the same
mini-batches as an uninterrupted one). Nothing is pickled.
"""
import json

import numpy as np

FORMAT = 1


def save_checkpoint(path, params, optimizer, *, rng=None, extra=None):
    """Write ``params`` (name -> array), ``optimizer``'s state and ``rng``'s state to ``path``.

    extra: JSON-safe dict stored alongside (returned by ``load_checkpoint``).
    """
    state = optimizer.get_state()
    arrays = {f"param/{k}": np.asarray(v) for k, v in params.items()}
    for name, slots in state["slots"].items():
        for slot, arr in slots.items():
            arrays[f"slot/{slot}/{name}"] = arr
    meta = {"format": FORMAT, "optimizer": optimizer.config(), "t": state["t"],
            "epoch": state["epoch"], "rng": None if rng is None else rng.bit_generator.state,
            "extra": extra or {}}
    arrays["meta"] = np.array(json.dumps(meta))
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load_checkpoint(path, params, optimizer, *, rng=None):
    """Restore ``params`` (in place), ``optimizer``'s state and ``rng``'s state from ``path``.

    Raises a ValueError naming what does not match: a missing or extra param, a
    shape, or an optimizer of another class or hyperparameters. Returns ``extra``.
    """
    with np.load(path, allow_pickle=False) as data:
        files = dict(data.items())
    if "meta" not in files:
        raise ValueError(f"load_checkpoint: {path} has no 'meta' entry; not a checkpoint of this project")
    meta = json.loads(str(files.pop("meta")))
    if meta.get("format") != FORMAT:
        raise ValueError(f"load_checkpoint: {path} has format {meta.get('format')!r}, expected {FORMAT}")
    saved = {k[len("param/"):]: v for k, v in files.items() if k.startswith("param/")}
    if set(saved) != set(params):
        raise ValueError(f"load_checkpoint: {path} holds params {sorted(saved)}, "
                         f"the model has {sorted(params)}")
    for k, arr in saved.items():
        if arr.shape != params[k].shape:
            raise ValueError(f"load_checkpoint: param {k!r} has shape {arr.shape} in {path}, "
                             f"the model's has shape {params[k].shape}")
    if meta["optimizer"] != optimizer.config():
        raise ValueError(f"load_checkpoint: {path} was written by optimizer {meta['optimizer']}, "
                         f"not by this one {optimizer.config()}")
    if meta["rng"] is not None and rng is None:
        raise ValueError(f"load_checkpoint: {path} saved a random generator's state; pass rng= "
                         "to restore it, or the resumed run will draw other mini-batches")
    slots = {}
    for k, arr in files.items():
        if k.startswith("slot/"):
            slot, _, name = k[len("slot/"):].partition("/")
            slots.setdefault(name, {})[slot] = arr
    optimizer.set_state({"t": meta["t"], "epoch": meta["epoch"], "slots": slots})
    for k, arr in saved.items():
        params[k][...] = arr
    if rng is not None and meta["rng"] is not None:
        rng.bit_generator.state = meta["rng"]
    return meta["extra"]
