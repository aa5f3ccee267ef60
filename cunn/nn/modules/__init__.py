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
from cunn.nn.modules.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from cunn.nn.modules.pooling import AdaptiveAvgPool2d, AvgPool2d
from cunn.nn.modules.activation import ELU, GELU, SiLU, Softplus
from cunn.nn.modules.dropout import Dropout2d
from cunn.nn.modules.sparse import Embedding
from cunn.nn.modules.linear import Unflatten
from cunn.nn.modules.loss import HuberLoss, KLDivLoss, SmoothL1Loss

__all__ = [
    "Module", "Sequential", "ModuleList", "ModuleDict",
    "Linear", "Identity", "Flatten", "Conv2d", "MaxPool2d",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Dropout",
    "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "AvgPool2d", "AdaptiveAvgPool2d", "GELU", "ELU",
    "SiLU", "Softplus", "Dropout2d", "Embedding", "Unflatten",
    "SmoothL1Loss", "HuberLoss", "KLDivLoss",
]
