"""``torch.backends.mps``: Apple's Metal backend, which cunn does not have."""


def is_available():
    """Always False: cunn has no Metal kernels."""
    return False


def is_built():
    """Always False: cunn is never built with Metal."""
    return False
