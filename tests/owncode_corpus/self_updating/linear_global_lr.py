"""A seed-001-style layer: __call__(x, parent) forward, update(grad) applies its own step with a module-global lr.

Bug: none (weight and bias steps are both summed over the batch).
Check: layers.self_updating.SelfUpdatingLayer(layer, "update",
forward="__call__", forward_args=(net,)) recovers dW and db exactly (lr set to 1.0 for
the call, then restored) and the battery passes them against the Dense twin
followed by a sigmoid, and against finite differences.
"""
import numpy as np

lr = 0.1


class Sigmoid:
    def __call__(self, x):
        return 1 / (1 + np.exp(-x))

    # derivative, written in terms of the sigmoid's output
    def diff(self, x):
        return x * (1 - x)


sigmoid = Sigmoid()


# gradcheck: Linear(3, 2, sigmoid); x=(N, 3); args=(NetWork(),)
class Linear:
    def __init__(self, inputs, outputs, activation):
        self.weight = np.random.rand(inputs, outputs) / 10
        self.bias = np.random.rand(outputs) / 10
        self.activation = activation
        self.x_temp = None
        self.t_temp = None

    def __call__(self, x, parent):
        self.x_temp = x
        self.t_temp = self.activation(x @ self.weight + self.bias)
        if self not in parent.layers:
            parent.layers.append(self)
        return self.t_temp

    def update(self, grad):
        activation_diff_grad = self.activation.diff(self.t_temp) * grad
        new_grad = activation_diff_grad @ self.weight.T
        self.weight -= lr * self.x_temp.T @ activation_diff_grad
        self.bias -= lr * activation_diff_grad.sum(axis=0)
        return new_grad


class NetWork:
    def __init__(self):
        self.layers = []
        self.linear_1 = Linear(4, 8, activation=sigmoid)
        self.linear_2 = Linear(8, 3, activation=sigmoid)

    def __call__(self, x):
        x = self.linear_1(x, self)
        x = self.linear_2(x, self)
        return x
