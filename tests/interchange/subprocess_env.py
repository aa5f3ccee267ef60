"""The environment for a child Python that must import the cunn these tests import
(the source tree built in place, or the installed package)."""
import os

import cunn

__all__ = ["child_environment"]


def child_environment():
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(cunn.__file__)))
    return {**os.environ, "PYTHONPATH": package_parent}
