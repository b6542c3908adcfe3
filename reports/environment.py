"""The run's environment for the report: versions, Hypothesis profile and seed, workers.

Versions come from installed package metadata (importing TensorFlow just to ask
its version would cost seconds).
"""
import datetime
import platform
import subprocess
import sys
from importlib import metadata

PACKAGES = [("numpy", ["numpy"]), ("TensorFlow", ["tensorflow-cpu", "tensorflow"]),
            ("Keras", ["keras"]), ("Hypothesis", ["hypothesis"]), ("pytest", ["pytest"]),
            ("pytest-xdist", ["pytest-xdist"]), ("Jinja2", ["jinja2"])]


def _version(names):
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def hypothesis_settings(config):
    """(profile name, description of the seed) as pytest's Hypothesis plugin set them."""
    try:
        from hypothesis import settings
    except ImportError:
        return "", ""
    profile = settings.get_current_profile_name()
    current = settings.get_profile(profile)
    seed = config.getoption("hypothesis_seed", None) if config else None
    if seed is not None:
        seed_text = f"{seed} (--hypothesis-seed)"
    elif current.derandomize:
        seed_text = "derandomized (fixed per test)"
    else:
        seed_text = "random per run (each failure's reproduction line is seed-complete)"
    return f"{profile} (max_examples={current.max_examples})", seed_text


def git_commit(root):
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, timeout=5,
                             capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, timeout=5, capture_output=True, text=True)
    except (OSError, subprocess.SubprocessError):
        return ""
    if out.returncode:
        return ""
    return out.stdout.strip() + (" (with local changes)" if dirty.stdout.strip() else "")


def environment(config, workers=(), started=None):
    """Ordered (label, value) pairs describing this run (``started``: a datetime)."""
    profile, seed = hypothesis_settings(config)
    numprocesses = getattr(config.option, "numprocesses", None) if config else None
    started = started or datetime.datetime.now()
    pairs = [("started", started.isoformat(timespec="seconds")),
             ("Python", f"{platform.python_version()} ({sys.executable})"),
             ("platform", platform.platform())]
    pairs += [(label, _version(names)) for label, names in PACKAGES]
    pairs += [("Hypothesis profile", profile), ("Hypothesis seed", seed),
              ("xdist workers", ", ".join(sorted(workers)) if workers else
               (str(numprocesses) if numprocesses else "none (serial run)")),
              ("command", " ".join(["pytest", *map(str, config.invocation_params.args)])
               if config else ""),
              ("git commit", git_commit(config.rootpath) if config else "")]
    return [(k, v) for k, v in pairs if v]
