"""An Affine layer in the seeds' self.W / self.dW style that creates dW and db only in backward.

Bug: none. Check: layers.adapter.AttributeLayer finds W and b by probing
(no dW attribute exists before backward); the battery passes dx, dW, db.
"""
import numpy as np


class Affine:
    def __init__(self, W, b):
        self.W = W
        self.b = b

    def forward(self, x):
        self.x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        dx = dout @ self.W.T
        return dx.reshape(self.x_shape)
