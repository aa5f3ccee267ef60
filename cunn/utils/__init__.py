"""PyTorch-style aliases: ``cunn.utils.data`` is ``cunn.data``."""
