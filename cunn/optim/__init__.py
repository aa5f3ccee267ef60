"""Optimizers with PyTorch's update rules; each step is one list kernel call per group."""
from cunn.optim.optimizer import Optimizer
from cunn.optim.sgd import SGD
from cunn.optim.adam import Adam, AdamW
from cunn.optim.rmsprop import RMSprop
from cunn.optim import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]
