"""The one-line hint for the rare user layer the harness cannot set up on its own.

A hint is a comment anywhere in the user's file::

    # gradcheck: Linear(3, 2, sigmoid)                 how to build the object
    # gradcheck: Linear(3, 2, sigmoid); x=(N, 3)       ... and the shape of its input (N: the batch)
    # gradcheck: Conv3x3(4); x=(6, 6)                  an input without a batch axis (one image)
    # gradcheck: Linear(3, 2, sigmoid); args=(NetWork(),)   more arguments its forward takes after x
    # gradcheck: skip Helper                           do not check this class or function

Inputs are named as the forward names them, so a layer with several inputs,
integer indices or a mask says each one::

    # gradcheck: LSTMCell(3, 5); x=(N, 3); h_prev=(N, 5); c_prev=(N, 5)
    # gradcheck: Embedding(10, 4); idx=int(N, 5)<10    integer indices in [0, 10), shape (N, 5)
    # gradcheck: rnn_forward; x=(N, 3, 4); h0=(N, 5)   a functional pair: named without arguments
    # gradcheck: word_embedding_forward; x=int(N, 5); W=(10, 4)   a functional pair's param shape
    # gradcheck: seq_loss; x=(N, 3, 6); y=int(N, 3)<6; mask=mask(N, 3)

``(d, ...)`` is a float array, ``int(d, ...)<K`` integers in [0, K) (without
``<K``: the first axis of the layer's 2-D weight, an embedding's vocabulary),
``mask(N, T)`` a boolean mask whose rows end in padding, a number (``G=2``) a functional
pair's argument that is not an array, passed as it is; a float array followed by
``in (lo, hi)`` is drawn in that open interval (``p=(N, 1) in (0, 1)`` for probabilities,
``x=(N, 3) in (0, inf)`` for a log; without it, a forward that gives NaN or inf on
ordinary inputs gets the widest of (0, inf), (-1, 1), (0, 1) where it does not). The expression is
evaluated in the file's own namespace, so it may use the file's names
(``sigmoid`` above). The comment changes nothing when the file runs, and the
error that asks for a hint gives the exact line to add.
"""
import ast
import math
import re
from dataclasses import dataclass

from properties.values import domain_text

HINT = re.compile(r"#\s*gradcheck:\s*(.+?)\s*$")
KINDS = {"float": "a float array", "int": "integer indices", "mask": "a boolean mask"}


@dataclass(frozen=True)
class ArrayHint:
    """One named array of a hint: its kind ("float", "int", "mask"), shape template and bound."""
    kind: str
    shape: tuple              # ints, and "N" for the batch axis
    bound: int = 0            # int: values in [0, bound); 0 when not given
    domain: tuple = ()        # float: the open interval (lo, hi) values are drawn in; () for any
    value: object = None      # "value": a number passed as it is (a functional pair's G=2)

    def show(self):
        if self.kind == "value":
            return repr(self.value)
        dims = "(" + ", ".join(str(d) for d in self.shape) + ("," if len(self.shape) == 1 else "") + ")"
        if self.kind == "float":
            return dims + (f" in {domain_text(self.domain)}" if self.domain else "")
        return f"{self.kind}{dims}" + (f"<{self.bound}" if self.bound else "")


@dataclass(frozen=True)
class Hint:
    name: str                 # the class or function the hint is about
    build: str = ""           # an expression building the object, e.g. "Linear(3, 2, sigmoid)"
    input_shape: tuple = ()   # x's shape, with "N" for the batch axis, e.g. ("N", 3); () when not given
    args: str = ""            # an expression for the forward's arguments after x, e.g. "(NetWork(),)"
    skip: bool = False
    line: int = 0
    arrays: tuple = ()        # ((argument name, ArrayHint), ...) in the order the hint gives them

    def array(self, name):
        """The ArrayHint the hint gives for argument ``name``, or None."""
        return dict(self.arrays).get(name)


PLACEHOLDER = ("'...' is a placeholder from the suggested hint: put the size there (a whole "
               "number, or N for the batch axis)")


def read_hints(source, bad=None):
    """{name: Hint} from the ``# gradcheck:`` comments of a file's source.

    A hint that does not parse raises ValueError naming the line; with a list ``bad``, it is
    appended there instead as (the class or function it names, or None when even that cannot
    be read; line; message), and the other hints are read on.
    """
    hints = {}
    for lineno, line in enumerate(source.splitlines(), 1):
        m = HINT.search(line)
        if not m:
            continue
        text = m.group(1)
        try:
            hint = _parse(text, lineno)
        except (SyntaxError, ValueError) as exc:
            message = f"line {lineno}: cannot read the hint {text!r}: {exc}"
            if bad is None:
                raise ValueError(message) from None
            named = re.match(r"(?:skip\s+)?([A-Za-z_]\w*)\s*(?:\(|;|$)", text)
            bad.append((named.group(1) if named else None, lineno, message))
            continue
        hints[hint.name] = hint
    return hints


def _parse(text, lineno):
    if text.startswith("skip "):
        return Hint(name=text[5:].strip(), skip=True, line=lineno)
    build, *rest = [part.strip() for part in text.split(";")]
    head = ast.parse(build, mode="eval").body
    if isinstance(head, ast.Name):          # a function pair, or a class built as usual
        name, build = head.id, ""
    elif isinstance(head, ast.Call) and isinstance(head.func, ast.Name):
        name = head.func.id
        if any(isinstance(n, ast.Constant) and n.value is Ellipsis for n in ast.walk(head)):
            raise ValueError(f"{name}(...): '...' is a placeholder from the suggested hint: "
                             f"replace each '...' with the value to build the layer with (a "
                             f"size, a stride, an array such as np.ones((3, 2)))")
    else:
        raise ValueError("expected Name(arguments) or a function's name, e.g. Linear(3, 2) "
                         "or rnn_step_forward")
    args, arrays = "", []
    for part in filter(None, rest):
        key, eq, value = (x.strip() for x in part.partition("="))
        if not eq or not key.isidentifier():
            raise ValueError(f"{part!r} is not key=value, such as x=(N, 3)")
        if key == "args":
            if not isinstance(ast.parse(value, mode="eval").body, ast.Tuple):
                raise ValueError("args= takes a tuple, such as args=(net,)")
            args = value
            continue
        if key in dict(arrays):
            raise ValueError(f"{key}= is given twice")
        arrays.append((key, _array(key, value)))
    x = dict(arrays).get("x")
    shape = x.shape if x is not None and x.kind == "float" else ()
    return Hint(name=name, build=build, input_shape=shape, args=args, line=lineno,
                arrays=tuple(arrays))


def _array(key, value):
    """An ArrayHint from ``(N, 3)``, ``int(N, 5)<10`` or ``mask(N, 5)``."""
    node = ast.parse(value, mode="eval").body
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return ArrayHint("value", (), value=node.value)     # a number, not an array: G=2
    bound, domain = 0, ()
    if isinstance(node, ast.Compare) and [type(op) for op in node.ops] == [ast.In]:
        domain = _interval(node.comparators[0], key)
        node = node.left
        if not isinstance(node, ast.Tuple):
            raise ValueError(f"{key}=: 'in (lo, hi)' follows a float array's shape, as in "
                             f"{key}=(N, 3) in (0, 1)")
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1 or not isinstance(node.ops[0], ast.Lt):
            raise ValueError(f"{key}=: only '<K' may follow int(...), as in {key}=int(N, 5)<10")
        bound = _literal_int(node.comparators[0], f"{key}=int(...)<K")
        if bound < 1:
            raise ValueError(f"{key}=int(...)<K needs K >= 1, got {bound}")
        node = node.left
    if isinstance(node, ast.Tuple):
        kind, dims = "float", node.elts
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("int", "mask"):
        kind, dims = node.func.id, node.args
    else:
        raise ValueError(f"{key}= takes a shape: {key}=(N, 3) for floats, {key}=int(N, 5)<10 for "
                         f"integer indices, {key}=mask(N, 5) for a mask")
    if bound and kind != "int":
        raise ValueError(f"{key}=: '<K' bounds integer indices only: {key}=int(...)<K")
    shape = tuple("N" if isinstance(e, ast.Name) and e.id == "N" else _literal_int(e, f"{key}=")
                  for e in dims)
    if not shape:
        raise ValueError(f"{key}= has an empty shape")
    if kind == "mask" and len(shape) != 2:
        raise ValueError(f"{key}=mask(...) is a (N, T) mask: two axes, got {len(shape)}")
    return ArrayHint(kind, shape, bound, domain)


def _interval(node, key):
    """(lo, hi) from ``(0, 1)`` or ``(0, inf)`` (``inf`` and ``-inf`` as names), lo < hi."""
    def bound(e):
        negative = isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub)
        inner = e.operand if negative else e
        if isinstance(inner, ast.Name) and inner.id == "inf":
            return -math.inf if negative else math.inf
        try:
            value = ast.literal_eval(e)
        except ValueError:
            value = None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ValueError(f"{key}=... in (lo, hi): the ends are numbers or inf, got "
                             f"{ast.unparse(e)!r}")
        return float(value)
    if not isinstance(node, ast.Tuple) or len(node.elts) != 2:
        raise ValueError(f"{key}=... in (lo, hi) takes two ends, as in {key}=(N, 3) in (0, 1)")
    lo, hi = (bound(e) for e in node.elts)
    if not lo < hi:
        raise ValueError(f"{key}=... in ({ast.unparse(node.elts[0])}, "
                         f"{ast.unparse(node.elts[1])}): the first end must be below the second")
    return lo, hi


def _literal_int(node, where):
    if isinstance(node, ast.Constant) and node.value is Ellipsis:
        raise ValueError(f"{where} {PLACEHOLDER}")
    try:
        value = ast.literal_eval(node)
    except ValueError:
        value = None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{where}: sizes are N (the batch) or whole numbers, got "
                         f"{ast.unparse(node)!r}")
    return value
