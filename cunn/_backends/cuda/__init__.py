"""The cuda backend: every kernel of the contract (cunn/_backends/interface.py) on device
arrays (array.py), through the CUDA runtime (runtime.py: cunn._C.cuda, or a simulator in
tests). One module per kernel family, as in the cpu backend; where the runtime has no
direct kernel the family composes one from the elementwise and reduce kernels.

``import cunn`` imports array.py (Tensor checks for device arrays), and with it this
package: the families are imported on the first kernel looked up here, so CPU-only
programs never load them.
"""
import importlib

NAME = "cuda"

_FAMILIES = ("gemm", "linear_chain", "elementwise", "activation", "softmax", "reduce", "loss",
             "conv2d", "pool", "dropout", "optim", "image_batch", "normalization", "avg_pool",
             "smooth_activation", "embedding")
# Submodules that are not kernel families: importing one loads no family.
_OTHERS = ("array", "runtime", "ufuncs", "functions", "_common")


def _load_families():
    namespace = globals()
    for family in _FAMILIES:
        module = importlib.import_module(f"{__name__}.{family}")
        for name in module.__all__:
            namespace[name] = getattr(module, name)
    from .runtime import get_num_threads, set_num_threads
    namespace.update(set_num_threads=set_num_threads, get_num_threads=get_num_threads)


def __getattr__(name):
    if name.startswith("__") or name in _FAMILIES or name in _OTHERS:
        raise AttributeError(name)  # the import system then imports the submodule itself
    _load_families()
    try:
        return globals()[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
