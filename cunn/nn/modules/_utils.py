"""Argument checks shared by the layers: every message names the layer and the argument."""
import numbers

import numpy as np


def is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(value, name, layer, minimum=1):
    """``value`` as an int >= minimum, else a TypeError/ValueError naming ``layer.name``."""
    if not is_int(value):
        raise TypeError(f"{layer}: {name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{layer}: {name} must be >= {minimum}, got {value}")
    if value >= 1 << 63:  # NumPy would raise OverflowError converting it to a C size
        raise ValueError(f"{layer}: {name} must be < 2**63, got {value}")
    return int(value)


def check_pair(value, name, layer, minimum=1):
    """An int or a pair of ints (each >= minimum) as a 2-tuple."""
    if is_int(value):
        value = (value, value)
    elif not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{layer}: {name} must be an int or a pair of ints, got {value!r}")
    return tuple(check_int(item, name, layer, minimum) for item in value)


def check_bool(value, name, layer, hint=""):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{layer}: {name} must be a bool, got {type(value).__name__} "
                        f"{value!r}{hint}")
    return bool(value)


def check_number(value, name, layer):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{layer}: {name} must be a number, got {type(value).__name__} "
                        f"{value!r}")
    return value
