"""Keep, per test, the results worth reporting, and ship them as plain JSON.

Hypothesis runs many examples per test and replays the shrunk (minimal)
failing example last, so the log keeps the failing results of the *latest*
failing example, and for every other (layer, property, tensor, oracle) the
passing result closest to its tolerance.

What crosses from an xdist worker to the controller is a JSON string of plain
Python. The arrays of a failing result are too big for that: they go to an
``.npz`` file in the report folder, named by a hash of their content, and only
that file name travels. Passing results carry no arrays, only their figures.
"""
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from oracle.result import Result

ARRAYS_SUBDIR = "arrays"


def result_key(r):
    return (r.layer, r.prop, r.tensor, r.oracle)


class ResultLog:
    """The results one test records (``result_log.add(results)``, once per example)."""

    def __init__(self, planted=False, arrays_dir=None):
        self.planted = planted
        self.arrays_dir = Path(arrays_dir) if arrays_dir else None
        self.examples = 0
        self.passes = {}      # key -> the passing Result with the highest ratio, a warning first
        self.failures = []    # the failing Results of the latest failing example

    def add(self, results):
        self.examples += 1
        results = list(results)
        failed = [r for r in results if not r.passed]
        if failed:
            self.failures = failed
        for r in results:
            old = self.passes.get(result_key(r))
            # a warning is kept over a plain pass, whatever their ratios: it is what the
            # matrix and the report must show (a NaN at a cone warns at a small ratio)
            if r.passed and (old is None or (r.warning, r.ratio) >= (old.warning, old.ratio)):
                self.passes[result_key(r)] = r

    @property
    def records(self):
        """The kept results: the latest failures, then the worst pass of every other check."""
        failing = {result_key(r) for r in self.failures}
        return self.failures + [r for k, r in self.passes.items() if k not in failing]

    def to_json(self, **extra):
        """JSON text of the kept results (plain Python only); failing arrays saved to files.

        ``extra``: more plain fields for the payload (the test's collection index).
        """
        start = time.perf_counter()
        plain = []
        for r in self.records:
            d = r.to_plain()
            if not r.passed and self.arrays_dir is not None:
                d["arrays_file"] = save_arrays(r.arrays, self.arrays_dir)
            plain.append(d)
        return json.dumps({"examples": self.examples, "planted": self.planted,
                           "worker": os.environ.get("PYTEST_XDIST_WORKER", ""),
                           "save_seconds": time.perf_counter() - start, "results": plain, **extra})


def save_arrays(arrays, folder):
    """Write ``arrays`` (name -> array) to ``folder/<hash>.npz``; return the path relative to
    the report folder (``arrays/<hash>.npz``), or "" when there is nothing numeric to save.

    The name is a hash of names, dtypes, shapes and bytes, so two workers writing the same
    arrays write the same file; the write goes through a temporary file and a rename.
    """
    numeric = {}
    for name, value in arrays.items():
        if value is None:
            continue
        a = np.asarray(value)
        if a.dtype.kind in "biuf":
            numeric[str(name)] = np.ascontiguousarray(a)
    if not numeric:
        return ""
    digest = hashlib.sha1()
    for name in sorted(numeric):
        a = numeric[name]
        digest.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        digest.update(a.tobytes())
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest.hexdigest()[:20]}.npz"
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **numeric)
        os.replace(tmp, target)
    return f"{ARRAYS_SUBDIR}/{target.name}"


def load_arrays(report_dir, arrays_file):
    """The arrays saved by :func:`save_arrays` (name -> ndarray); {} if the file is missing."""
    if not arrays_file:
        return {}
    path = Path(report_dir) / arrays_file
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def results_from_json(text):
    """The payload dict and its results as :class:`Result` objects (without arrays)."""
    data = json.loads(text)
    return data, [Result(**{k: v for k, v in d.items() if k in Result.__dataclass_fields__})
                  for d in data["results"]]
