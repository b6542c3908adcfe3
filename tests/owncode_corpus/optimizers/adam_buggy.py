"""Adam in deep-learning-from-scratch style, with ONE bug.

Bug: the step counter is never advanced (self.iter stays 0 -> the bias
correction divides by 1 - beta1**0 = 0 ... so the author "fixed" it by
starting iter at 1 and forgetting the increment): lr_t keeps the first step's
correction for every step.
Check: properties.owncode_optimizers.check_dict_optimizer: verdict "layer bug"
(matches neither Keras's Adam nor any convention variant), parting at step 2.
"""
import numpy as np


class Adam:
    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.iter = 1
        self.m = None
        self.v = None

    def update(self, params, grads):
        if self.m is None:
            self.m, self.v = {}, {}
            for key, val in params.items():
                self.m[key] = np.zeros_like(val)
                self.v[key] = np.zeros_like(val)
        lr_t = self.lr * np.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)
        for key in params.keys():
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + 1e-7)
