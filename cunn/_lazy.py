"""Submodules as attributes, imported on first use (``cunn.utils.data`` after a plain
``import cunn``, as in PyTorch), so that importing a package stays cheap."""
import importlib
import importlib.util


def submodule_getattr(package):
    """A module-level ``__getattr__`` for ``package`` that imports ``package.<name>``."""
    def __getattr__(name):
        if not name.startswith("_") and importlib.util.find_spec(f"{package}.{name}") is not None:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return __getattr__
