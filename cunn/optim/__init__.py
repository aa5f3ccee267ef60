"""Optimizers with PyTorch's update rules; each step is one list kernel call per group."""
from cunn.optim.optimizer import Optimizer
from cunn.optim.sgd import SGD
from cunn.optim.adam import Adam, AdamW
from cunn.optim.rmsprop import RMSprop
from cunn.optim.adadelta import Adadelta
from cunn.optim.adagrad import Adagrad
from cunn.optim import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adadelta", "Adagrad",
           "lr_scheduler"]
