"""PyTorch's module layout after a plain ``import cunn`` (each submodule an attribute, loaded
on first use), ``cunn.backends`` as PyTorch's namespace, and the import staying light."""
import json
import sys

import pytest

import cunn
from python_process import run_python

SUBMODULES = ["cunn.utils.data.DataLoader", "cunn.utils.data.TensorDataset",
              "cunn.nn.functional.relu", "cunn.nn.init.kaiming_uniform_",
              "cunn.nn.parallel.DataParallel", "cunn.nn.utils.clip_grad_norm_",
              "cunn.optim.lr_scheduler.StepLR", "cunn.optim.Adadelta",
              "cunn.data.transforms.ToTensor", "cunn.vision.datasets.MNIST",
              "cunn.vision.datasets.FashionMNIST", "cunn.vision.transforms.RandomCrop",
              "cunn.autograd.no_grad", "cunn.cuda.is_available", "cunn.backends.mps.is_available",
              "cunn.backends.cudnn.benchmark"]


def test_every_documented_submodule_is_an_attribute_after_import_cunn():
    code = f"""
import json, sys
import cunn
heavy = [name for name in ("cunn.nn", "cunn.data", "cunn.vision", "cunn.optim", "torch",
                           "tqdm", "urllib.request") if name in sys.modules]
found = {{}}
for path in {SUBMODULES!r}:
    value = cunn
    for part in path.split(".")[1:]:
        value = getattr(value, part)
    found[path] = value is not None
print(json.dumps({{"heavy": heavy, "found": found}}))
"""
    result = json.loads(run_python(code))
    assert result["heavy"] == []  # nothing loaded before it is used
    assert all(result["found"].values()), result["found"]


def test_unknown_attributes_still_raise_attribute_error():
    with pytest.raises(AttributeError, match="nonexistent"):
        cunn.nonexistent
    with pytest.raises(AttributeError, match="nonexistent"):
        cunn.utils.nonexistent
    assert not hasattr(cunn, "_private_thing")


def test_backends_is_pytorchs_namespace():
    assert cunn.backends.mps.is_available() is False and cunn.backends.mps.is_built() is False
    assert cunn.backends.cudnn.is_available() is False
    for flag in ("benchmark", "deterministic", "enabled"):
        previous = getattr(cunn.backends.cudnn, flag)
        setattr(cunn.backends.cudnn, flag, not previous)
        assert getattr(cunn.backends.cudnn, flag) is (not previous)
        setattr(cunn.backends.cudnn, flag, previous)
    assert "cpu" in cunn.available_backends() or "numpy" in cunn.available_backends()
    assert cunn.current_backend() in cunn.available_backends()


def test_the_mps_probe_of_a_pytorch_script_runs_unchanged():
    import cunn as torch

    use_cuda = torch.cuda.is_available()
    use_mps = torch.backends.mps.is_available()
    torch.backends.cudnn.benchmark = True
    device = torch.device("cuda" if use_cuda else "mps" if use_mps else "cpu")
    assert str(device) == ("cuda" if use_cuda else "cpu")
    torch.backends.cudnn.benchmark = False


@pytest.mark.skipif(sys.platform != "linux", reason="reads the peak RSS from /proc (Linux)")
def test_import_cunn_stays_under_40_mb():
    # VmHWM, the peak resident set of this process image (ru_maxrss would include the
    # parent's peak, which survives exec).
    code = ("import cunn\n"
            "print([line.split()[1] for line in open('/proc/self/status') "
            "if line.startswith('VmHWM')][0])")
    assert int(run_python(code)) < 40 * 1024
