"""``./harness check PATH...``: check a user's own layers, networks and optimizers, no glue.

Runs pytest with ``--check PATH`` (``properties.pytest_plugin``): a progress
line per layer while it runs, then the layer-by-property matrix and the HTML
report's path. Exit status: 0 when every check passes, 1 when any fails (a
file that does not import counts as a failure), 2 on a usage error (a path that
does not exist, nothing to check), 3 when nothing failed but some layer, function,
network or optimizer found could not be checked (listed as SKIPPED with the reason
and what to add): not a pass. Relative paths are taken from the directory
the command was run in (``GRADCHECK_CWD``, set by ``./harness``).
"""
import argparse
import os
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
USAGE, FAILED, NOT_CHECKED = 2, 1, 3


def main(argv=None):
    parser = argparse.ArgumentParser(prog="./harness check", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a file or folder of your code")
    parser.add_argument("--hypothesis-profile", default=None,
                        help="default: 25 random examples per property, so two runs may find "
                             "different things; ci: the same 25 every run (repeatable, as CI "
                             "runs it); thorough: 200")
    parser.add_argument("--report-dir", default=None, help="where the HTML report goes")
    parser.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return USAGE if exc.code else 0
    cwd = Path(os.environ.get("GRADCHECK_CWD", os.getcwd()))
    paths = [(cwd / p).resolve() for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"./harness check: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return USAGE
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.dont_write_bytecode = True
    opts = ["-p", "no:cacheprovider", "-q", "--no-header", "--tb=short", "-rs",
            f"--rootdir={PROJECT}", "-o", "addopts=", "-W", "ignore::DeprecationWarning",
            "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    opts += [f"--check={p}" for p in paths]
    if args.hypothesis_profile:
        opts.append(f"--hypothesis-profile={args.hypothesis_profile}")
    if args.report_dir:
        opts.append(f"--report-dir={(cwd / args.report_dir).resolve()}")
    if args.exitfirst:
        opts.append("-x")
    unchecked = _Unchecked()
    code = pytest.main(opts, plugins=[unchecked])
    status, said = exit_status(code, unchecked, args.paths)
    if said:
        print(said, file=sys.stderr)
    return status


def exit_status(code, unchecked, paths):
    """(exit status, a line for stderr or "") of a run that ended with pytest's ``code``;
    ``unchecked``: its :class:`_Unchecked`. A run that checked nothing is never a pass."""
    if code == pytest.ExitCode.NO_TESTS_COLLECTED or code == pytest.ExitCode.OK and (
            unchecked.nothing_recognised or unchecked.nothing_checked and not unchecked.labels):
        return USAGE, (f"./harness check: found nothing to check in {', '.join(paths)} (no "
                       "layers, functional pairs, networks or optimizers; see the README's hints)")
    if code == pytest.ExitCode.USAGE_ERROR:
        return USAGE, ""
    files = unchecked.unrecognised
    also = (f"; in {len(files)} file(s) nothing was recognised: {', '.join(files)}"
            if files else "")
    if code == pytest.ExitCode.OK and unchecked.labels:
        return NOT_CHECKED, (
            f"./harness check: nothing failed, but {len(unchecked.labels)} found could not be "
            f"checked: {', '.join(unchecked.labels)} (see SKIPPED above for why, and what "
            f"would make it checkable where something would){also}; exit status 3, not a pass")
    if code == pytest.ExitCode.OK:
        return 0, (f"./harness check: everything checked passed{also}" if also else "")
    if unchecked.labels or also:      # a failure says so above; what was not checked, here
        return FAILED, (f"./harness check: besides the failures, {len(unchecked.labels)} found "
                        f"could not be checked" + (f": {', '.join(unchecked.labels)}"
                                                    if unchecked.labels else "") + also)
    return FAILED, ""


class _Unchecked:
    """Collects the labels of found code that could not be checked at all."""

    def __init__(self):
        self.labels, self.nothing_recognised, self.nothing_checked = [], False, False
        self.unrecognised = []        # files (module labels) where nothing was recognised

    def pytest_collection_finish(self, session):
        skips = [getattr(item, "skip", None) for item in session.items]
        self.labels = [s.label for s in skips if getattr(s, "unchecked", False)]
        self.unrecognised = [s.label for s in skips if s is not None and
                             s.reason.startswith("nothing recognised")]
        # only files where nothing was recognised: found nothing, as when none was collected
        self.nothing_recognised = bool(skips) and all(
            s is not None and s.reason.startswith("nothing recognised") for s in skips)
        # every item a skip (helper classes with no gradient, hinted skips): nothing was
        # checked, which is never a pass
        self.nothing_checked = bool(skips) and all(s is not None for s in skips)


if __name__ == "__main__":
    sys.exit(main())
