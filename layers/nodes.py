"""Seed 004's computational-graph nodes: layers with two inputs."""
from layers.base import Layer, check_input


def _check_pair(layer, x, y):
    check_input(layer, "x", x)
    check_input(layer, "y", y)
    if x.shape != y.shape:
        raise ValueError(f"{type(layer).__name__}.forward: x and y must have the same shape, "
                         f"got {x.shape} and {y.shape}")


class Add(Layer):
    """out = x + y; backward returns (dx, dy) = (dout, dout)."""

    input_names = ("x", "y")

    def forward(self, x, y):
        _check_pair(self, x, y)
        return x + y

    def backward(self, dout):
        return dout.copy(), dout.copy()


class Mul(Layer):
    """out = x * y; backward returns (dx, dy) = (dout * y, dout * x)."""

    input_names = ("x", "y")

    def forward(self, x, y):
        _check_pair(self, x, y)
        self._x, self._y = x, y
        return x * y

    def backward(self, dout):
        return dout * self._y, dout * self._x
