"""The hint a cost function no arguments tried could call is shown with: every argument it
takes, at the shape its docstring gives it where it gives one (``properties.user_cost_grad``)."""
import inspect

from properties.user_doc_shapes import BATCH_LETTERS, _doc_entries

INT_ROLES = ("labels", "indices", "index", "actions", "action")


def suggested_args(fn, roles):
    """``h=(N, 5); W=(4, 5); labels=int(N)<4``: every argument of ``roles`` a hint would
    give, each at the shape its docstring gives it (its batch letter N), else at one a role
    of its kind takes; integer arguments below the fewest rows of a table beside them."""
    try:
        found = _doc_entries(inspect.getdoc(inspect.unwrap(fn)) or "", {})
    except ValueError:
        found = None
    entries, sizes = found or ({}, {})

    def dims(n):
        got = [d if d in BATCH_LETTERS else d if d.isdigit() else sizes.get(d)
               for d in entries.get(n) or ()]
        return None if not got or None in got else ["N" if d in BATCH_LETTERS else str(d)
                                                     for d in got]
    tables = [int(d[0]) for n, r in roles for d in [dims(n)]
              if r not in INT_ROLES and d and len(d) == 2 and d[0] != "N"]
    bound = min(tables) if tables else 3
    out = []
    for n, r in roles:
        d = dims(n)
        if r in INT_ROLES:
            out.append(f"{n}=int({', '.join(d or ['N'])})<{bound}")
        elif r == "mask":
            out.append(f"{n}=mask({', '.join(d or ['N', '3'])})")
        elif d is not None:
            out.append(f"{n}=({', '.join(d)}{',' if len(d) == 1 else ''})")
        elif r in ("data", "predictions"):
            out.append(f"{n}=(N, 3)")
        elif r in ("flat", "array", "vector", "positive"):
            out.append(f"{n}=(3,)")
    return "; ".join(out)


def hinted_numbers(fn, hint, set_by):
    """{argument: number} a hint gives ``fn``'s options left at their defaults by the search
    (``margin=0.7`` after the arrays): they were read and dropped."""
    if hint is None:
        return {}
    out = {}
    for n in inspect.signature(fn).parameters:
        got = hint.array(n) if n not in set_by else None
        if got is not None and got.kind == "value":
            out[n] = got.value
    return out
