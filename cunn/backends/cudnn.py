"""``torch.backends.cudnn``: the flags scripts set; cunn uses no cuDNN, so they change nothing."""

benchmark = False
deterministic = False
enabled = True
allow_tf32 = True


def is_available():
    """Always False: cunn's CUDA kernels (when built) are its own, not cuDNN's."""
    return False


def version():
    """None, as PyTorch answers without cuDNN."""
    return None
