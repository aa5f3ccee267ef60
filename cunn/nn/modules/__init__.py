"""The layers, containers and losses of cunn.nn (one small file per kind)."""
from cunn.nn.modules.module import Module
from cunn.nn.modules.container import ModuleDict, ModuleList, Sequential
from cunn.nn.modules.linear import Flatten, Identity, Linear
from cunn.nn.modules.conv import Conv2d
from cunn.nn.modules.pooling import MaxPool2d
from cunn.nn.modules.activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from cunn.nn.modules.dropout import Dropout
from cunn.nn.modules.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss,
                                  MSELoss, NLLLoss)
from cunn.nn.modules.loss import HuberLoss, KLDivLoss, SmoothL1Loss

__all__ = [
    "Module", "Sequential", "ModuleList", "ModuleDict",
    "Linear", "Identity", "Flatten", "Conv2d", "MaxPool2d",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Dropout",
    "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss",
    "SmoothL1Loss", "HuberLoss", "KLDivLoss",
]
