"""A seed-003-style CNN: one image at a time, no batch axis; backprop applies its own update.

Conv3x3.backprop(d_L_d_out, learn_rate) takes the learning rate as an argument;
Softmax.backprop(d_L_d_out) reads self.learn_rate. Images are (H, W), feature
maps (H, W, F).
Bug: none. Check: layers.self_updating.SelfUpdatingLayer(layer, "backprop",
per_sample=True) recovers d_L_d_filters / d_L_d_w / d_L_d_b exactly and restores
the filters and weights; finite differences of the forward pass them.
"""
import numpy as np


class Conv3x3:
    def __init__(self, num_filters):
        self.num_filters = num_filters
        self.filters = np.random.randn(num_filters, 3, 3) / 9
        self.last_input = None

    def iterate_regions(self, image):
        h, w = image.shape
        for i in range(h - 2):
            for j in range(w - 2):
                yield image[i:(i + 3), j:(j + 3)], i, j

    def forward(self, input):
        self.last_input = input
        h, w = input.shape
        output = np.zeros((h - 2, w - 2, self.num_filters))
        for im_region, i, j in self.iterate_regions(input):
            output[i, j] = np.sum(im_region * self.filters, axis=(1, 2))
        return output

    def backprop(self, d_L_d_out, learn_rate):
        d_L_d_filters = np.zeros(self.filters.shape)
        for im_region, i, j in self.iterate_regions(self.last_input):
            for f in range(self.num_filters):
                d_L_d_filters[f] += d_L_d_out[i, j, f] * im_region
        self.filters -= learn_rate * d_L_d_filters
        return None


class MaxPool2:
    def iterate_regions(self, image):
        h, w, _ = image.shape
        for i in range(h // 2):
            for j in range(w // 2):
                yield image[i * 2:(i + 1) * 2, j * 2:(j + 1) * 2], i, j

    def forward(self, input):
        self.last_input = input
        h, w, num_filters = input.shape
        output = np.zeros((h // 2, w // 2, num_filters))
        for im_region, i, j in self.iterate_regions(input):
            output[i, j] = np.amax(im_region, axis=(0, 1))
        return output

    def backprop(self, d_L_d_out):
        d_L_d_input = np.zeros(self.last_input.shape)
        for im_region, i, j in self.iterate_regions(self.last_input):
            h, w, f = im_region.shape
            amax = np.amax(im_region, axis=(0, 1))
            for i2 in range(h):
                for j2 in range(w):
                    for f2 in range(f):
                        if im_region[i2, j2, f2] == amax[f2]:
                            d_L_d_input[i * 2 + i2, j * 2 + j2, f2] = d_L_d_out[i, j, f2]
        return d_L_d_input


class Softmax:
    def __init__(self, input_len, nodes, learn_rate=0.01):
        self.weights = np.random.randn(input_len, nodes) / input_len
        self.biases = np.zeros(nodes)
        self.learn_rate = learn_rate

    def forward(self, input):
        self.last_input_shape = input.shape
        input = input.flatten()
        self.last_input = input
        totals = np.dot(input, self.weights) + self.biases
        self.last_totals = totals
        exp = np.exp(totals)
        return exp / np.sum(exp, axis=0)

    def backprop(self, d_L_d_out):
        d_L_d_w = np.zeros(self.weights.shape)
        d_L_d_b = np.zeros(self.biases.shape)
        d_L_d_input = np.zeros(self.last_input.shape)
        for i, gradient in enumerate(d_L_d_out):
            if gradient == 0:
                continue
            t_exp = np.exp(self.last_totals)
            S = np.sum(t_exp)
            d_out_d_t = -t_exp[i] * t_exp / (S ** 2)
            d_out_d_t[i] = t_exp[i] * (S - t_exp[i]) / (S ** 2)
            d_L_d_t = gradient * d_out_d_t
            d_L_d_w += self.last_input[np.newaxis].T @ d_L_d_t[np.newaxis]
            d_L_d_b += d_L_d_t
            d_L_d_input += self.weights @ d_L_d_t
        self.weights -= self.learn_rate * d_L_d_w
        self.biases -= self.learn_rate * d_L_d_b
        return d_L_d_input.reshape(self.last_input_shape)
