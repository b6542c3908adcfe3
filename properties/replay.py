"""Re-run one failing case: the line every failure prints (``./harness replay ...``).

    python -m properties.replay [--import MODULE] grads_tf '{"layer": "Dense", ...}'   # a layer property
    python -m properties.replay network '{"layers": [...], ...}'                        # a drawn network
    python -m properties.replay optimizer '{"name": "Adam", ...}'                       # an optimizer trajectory
    python -m properties.replay --check /abs/file.py grads_tf '{"layer": "mymodule.Affine", ...}'
    python -m properties.replay --check /abs/file.py check mymodule.TwoLayerNet         # a user's network

``--import`` first imports the module that registered the layer (planted layers);
``--check`` re-imports a user's file and finds its layers, networks and optimizers again.
"""
import importlib
import json
import sys

from properties.cases import Case
from properties.battery import GRADS, all_properties, property_named


def replay(prop_name, case_json):
    """Run property ``prop_name`` on the case described by ``case_json``; return its results."""
    known = [*all_properties(), GRADS.name]
    if prop_name not in known:
        raise SystemExit(f"unknown property {prop_name!r}; known: {sorted(known)}")
    fields = json.loads(case_json)
    fields["layer"] = _registered(fields["layer"])
    fields["config"] = {k: tuple(v) if isinstance(v, list) else v for k, v in fields["config"].items()}
    return property_named(prop_name).fn(Case(**fields))


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    collected = None
    if len(argv) == 4 and argv[0] == "--import":
        importlib.import_module(argv[1])
        argv = argv[2:]
    elif len(argv) == 4 and argv[0] == "--check":
        from properties.owncode import collect
        collected = collect([argv[1]])
        argv = argv[2:]
    if len(argv) != 2:
        raise SystemExit(__doc__)
    if argv[0] == "check" and collected is not None:
        results = _user_check(collected, argv[1])
    elif argv[0] == "network":
        from properties.networks import check_network
        results = check_network(json.loads(argv[1]))
    elif argv[0] == "optimizer":
        from properties.optimizer_checks import OptimizerCase, trajectory_results
        results = trajectory_results(OptimizerCase.from_plain(json.loads(argv[1])))
    else:
        results = replay(*argv)
    for r in results:
        print(r.message(), end="\n\n")
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _registered(name):
    """``name``, or without its "@2" suffix when the file was checked alone (no collision)."""
    from properties.registry import PLANTED, REGISTRY
    if name in PLANTED or name in REGISTRY or "@" not in name:
        return name
    return name.rsplit("@", 1)[0]


def _user_check(collected, label):
    """Re-run a user's network or optimizer check found again in its file."""
    for item in collected.found:
        if item.label in (label, _registered(label)) and item.check is not None:
            return item.check()
    raise SystemExit(f"no network or optimizer {label!r} in that file; found: "
                     f"{[i.label for i in collected.found if i.check is not None]}")


if __name__ == "__main__":
    sys.exit(main())
