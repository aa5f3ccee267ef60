"""cunn.utils.tensorboard: ``SummaryWriter`` writes what training logs (curves,
histograms, images, text) as event files that TensorBoard reads
(``tensorboard --logdir runs``), with PyTorch's signatures and file layout.

The event files are written by the ``tensorboard`` package's own event writer (the
``tensorboard`` extra: pip install "cunn[tensorboard]"), imported when the first writer
is made; summary.py turns arrays into its summary records.
"""
from cunn.utils.tensorboard.writer import SummaryWriter

__all__ = ["SummaryWriter"]
