"""AdaGrad with epsilon inside the square root (as Keras does), accumulator starting at zero.

Bug: none; one convention differs from Keras: the accumulator h starts at 0 where
Keras's Adagrad starts it at 0.1.
Check: properties.owncode_optimizers.check_dict_optimizer gives verdict "convention"
naming the accumulator's initial value.
"""
import numpy as np


class AdaGrad:
    def __init__(self, lr=0.05, eps=1e-7):
        self.lr = lr
        self.eps = eps
        self.h = {}

    def update(self, params, grads):
        for key in params:
            if key not in self.h:
                self.h[key] = np.zeros_like(params[key])
            self.h[key] += grads[key] ** 2
            params[key] -= self.lr * grads[key] / np.sqrt(self.h[key] + self.eps)
