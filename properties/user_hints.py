"""The one-line hint for the rare user layer the harness cannot set up on its own.

A hint is a comment anywhere in the user's file::

    # gradcheck: Linear(3, 2, sigmoid)                 how to build the object
    # gradcheck: Linear(3, 2, sigmoid); x=(N, 3)       ... and the shape of its input (N: the batch)
    # gradcheck: Conv3x3(4); x=(6, 6)                  an input without a batch axis (one image)
    # gradcheck: Linear(3, 2, sigmoid); args=(NetWork(),)   more arguments its forward takes after x
    # gradcheck: skip Helper                           do not check this class or function

The expression is evaluated in the file's own namespace, so it may use the
file's names (``sigmoid`` above). The comment changes nothing when the file
runs, and the error that asks for a hint gives the exact line to add.
"""
import ast
import re
from dataclasses import dataclass

HINT = re.compile(r"#\s*gradcheck:\s*(.+?)\s*$")


@dataclass(frozen=True)
class Hint:
    name: str                 # the class or function the hint is about
    build: str = ""           # an expression building the object, e.g. "Linear(3, 2, sigmoid)"
    input_shape: tuple = ()   # with "N" for the batch axis, e.g. ("N", 3); () when not given
    args: str = ""            # an expression for the forward's arguments after x, e.g. "(NetWork(),)"
    skip: bool = False
    line: int = 0


def read_hints(source):
    """{name: Hint} from the ``# gradcheck:`` comments of a file's source. Raises ValueError
    naming the line for a hint that does not parse."""
    hints = {}
    for lineno, line in enumerate(source.splitlines(), 1):
        m = HINT.search(line)
        if not m:
            continue
        text = m.group(1)
        try:
            hint = _parse(text, lineno)
        except (SyntaxError, ValueError) as exc:
            raise ValueError(f"line {lineno}: cannot read the hint {text!r}: {exc}") from None
        hints[hint.name] = hint
    return hints


def _parse(text, lineno):
    if text.startswith("skip "):
        return Hint(name=text[5:].strip(), skip=True, line=lineno)
    build, *rest = [part.strip() for part in text.split(";")]
    call = ast.parse(build, mode="eval").body
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        raise ValueError("expected Name(arguments), e.g. Linear(3, 2)")
    shape, args = (), ""
    for part in filter(None, rest):
        key, _, value = (x.strip() for x in part.partition("="))
        node = ast.parse(value, mode="eval").body
        if not isinstance(node, ast.Tuple):
            raise ValueError(f"{key}= takes a tuple, such as x=(N, 3) or args=(net,)")
        if key == "x":
            shape = tuple("N" if isinstance(e, ast.Name) and e.id == "N" else ast.literal_eval(e)
                          for e in node.elts)
        elif key == "args":
            args = value
        else:
            raise ValueError(f"unknown key {key!r}; the keys are x=(N, ...) and args=(...)")
    return Hint(name=call.func.id, build=build, input_shape=shape, args=args, line=lineno)


def suggestion(name, params, shape_hint=False):
    """The hint line to add for ``name``, with placeholders for what could not be inferred."""
    args = ", ".join(f"{p}=..." for p in params)
    return f"# gradcheck: {name}({args})" + ("; x=(N, ...)" if shape_hint else "")
