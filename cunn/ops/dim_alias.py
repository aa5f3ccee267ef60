"""``axis=`` as PyTorch's NumPy-style alias of ``dim``, for every function that takes ``dim``."""
import functools

__all__ = ["accepts_axis"]


def accepts_axis(function):
    """``function`` also taking ``axis=`` for its ``dim`` argument."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if "axis" in kwargs:
            if "dim" in kwargs:
                raise TypeError(f"{function.__name__}: got both dim and axis; give one")
            kwargs["dim"] = kwargs.pop("axis")
        return function(*args, **kwargs)
    return wrapper
