"""Hand-written NumPy layers: the code under test. Imports NumPy only."""
from layers.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from layers.adapter import AttributeLayer
from layers.base import Layer, Loss
from layers.conv import Conv2D
from layers.dense import Dense
from layers.dropout import Dropout
from layers.losses import BCEWithLogits, MSE, SoftmaxCrossEntropy
from layers.network import Sequential
from layers.optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSProp
from layers.norm import BatchNorm, LayerNorm
from layers.nodes import Add, Mul
from layers.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from layers.shape import Flatten

__all__ = ["Add", "AttributeLayer", "BCEWithLogits", "Dense", "Flatten", "Layer", "LeakyReLU",
           "Loss", "MSE", "Mul", "ReLU", "Sequential", "Sigmoid", "Softmax", "SoftmaxCrossEntropy", "Tanh"]
__all__ += ["BatchNorm", "Dropout", "LayerNorm"]
__all__ += ["AvgPool2D", "Conv2D", "GlobalAvgPool2D", "MaxPool2D"]
__all__ += ["AdaGrad", "Adam", "Momentum", "Nesterov", "RMSProp", "SGD"]
