"""A forward that writes into its input (``out = x; out[out < 0] = 0``) must not move the point
the oracles are asked about. Its backward's mask, built from the clamped x, let the gradient
through every negative input; the oracles were then asked at the clamped x too, whose zeros
are ReLU's kink, and the bug was called a "kink convention". The layer now runs on its own
copy of the inputs; no_mutation reports the write."""
from properties.battery import all_properties
from properties.cases import Case
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class Relu:
    def forward(self, x):
        out = x
        out[out < 0] = 0
        self.mask = (x < 0)
        return out

    def backward(self, dout):
        dx = dout.copy()
        dx[self.mask] = 0
        return dx
'''


def test_the_oracles_judge_at_the_inputs_given_not_at_what_forward_left_of_them(tmp_path):
    found, _ = collect_source(tmp_path, "inplace_relu.py", SOURCE)
    label = next(lab for lab in found if lab.endswith(".Relu"))
    case = Case(layer=label, config={}, dtype="float64", batch=1, kind="normal", seed=0,
                values=((-1.0, 2.0, -0.5, 0.3, -2.0),))
    props = all_properties()
    failed = [r for r in props["grads_tf"].fn(case) if not r.passed]
    assert [r.verdict for r in failed] == ["layer bug"], [r.message() for r in failed]
    assert failed[0].arrays["x"].min() == -2.0      # shown as it was given
    mutated = [r for r in props["no_mutation"].fn(case) if not r.passed]
    assert [r.tensor for r in mutated] == ["x (input)"]
