"""The exception cunn.load raises for a checkpoint that asks for anything but data."""
import pickle

__all__ = ["UnpicklingError"]


class UnpicklingError(pickle.UnpicklingError):
    """A PyTorch checkpoint names a global (a function, a class) that cunn does not
    rebuild; nothing from the file has run. Subclasses pickle.UnpicklingError, the type
    PyTorch's own restricted (weights-only) loader raises."""
