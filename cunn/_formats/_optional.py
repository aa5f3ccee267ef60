"""Imports an optional package, or says which cunn extra installs it."""
import importlib

__all__ = ["require"]


def require(module, extra, feature):
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f"{feature} needs the optional package {module.split('.')[0]!r}: "
                          f'pip install "cunn[{extra}]"') from error
