"""Losses whose backward is handed the predictions again (nnfs's ``backward(dvalues, y_true)``).

"Neural Networks from Scratch" writes a loss as ``forward(y_pred, y_true)`` returning the
per-sample losses, and ``backward(dvalues, y_true)`` called with the predictions (the
softmax's output), not with an upstream gradient; the combined softmax and cross-entropy
is handed its own ``self.output``. Read as a layer, that backward takes two upstream
gradients and every check failed it as breaking the protocol. Such a class is recognised by
its signatures: a forward of one input and targets, and a backward of one argument named as
the predictions are (``dvalues``, or the forward's own input name, ``y_pred``...) followed by
the same targets. It is then checked as a loss (``layers.stored_results.PredictionsLoss``).

Its forward may clip the predictions (``np.clip(y_pred, 1e-7, 1 - 1e-7)``, to keep a log
finite): outside that range the loss is flat and its backward, written for probabilities,
is not meant to be right there. A loss's predictions that its forward clips into constant
bounds are drawn inside them (a layer that clips, a ReLU6, is not a loss and is checked
everywhere).
"""
import ast
import inspect
import textwrap

from layers.adapter import AttributeLayer
from layers.stored_results import PredictionsLoss
from properties.user_targets import _positional, method_roles

# What a loss's backward calls the predictions it is handed, besides the forward's own name.
PREDICTION_NAMES = ("dvalues", "y_pred", "pred", "preds", "predictions", "output", "outputs",
                    "y_hat", "probs", "probabilities")


def predictions_adapter(cls, forward):
    """The adapter (``discover``'s ``adapt(obj, probe_inputs)``) of a loss whose backward is
    handed the predictions again, or None when ``cls`` is not one."""
    if forward is None or not callable(getattr(cls, "backward", None)):
        return None
    inputs, targets, _ = method_roles(cls, forward, "backward")
    taken = _positional(getattr(cls, "backward"))[1:]
    if len(inputs) != 1 or not targets or len(taken) != 1 + len(targets) or \
            tuple(taken[1:]) != tuple(targets) or \
            taken[0] not in (*PREDICTION_NAMES, inputs[0]):
        return None
    domain = clipped_to(getattr(cls, forward), inputs[0])

    def adapt(obj, probe_inputs):
        layer = AttributeLayer(PredictionsLoss(obj, forward=forward), names=(), input_names=inputs,
                               target_names=targets)
        layer.gradcheck_domain = domain      # (user_shapes.within_domain)
        return layer, "loss whose backward is handed the predictions (nnfs)"
    adapt.roles = (inputs, targets)
    return adapt


def clipped_to(method, name):
    """(lo, hi) when ``method`` clips its argument ``name`` to constant bounds
    (``np.clip(name, 1e-7, 1 - 1e-7)``), else None."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) \
                == "clip" and len(node.args) == 3 and isinstance(node.args[0], ast.Name) and \
                node.args[0].id == name:
            try:
                lo, hi = (float(eval(compile(ast.Expression(a), "<clip>", "eval"), {"__builtins__": {}}))
                          for a in node.args[1:])
            except Exception:      # bounds that are not constants: drawn everywhere
                return None
            return (lo, hi) if lo < hi else None
    return None
