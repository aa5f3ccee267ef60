"""cunn.onnx.export of the normalisation, average-pooling and smooth-activation layers:
ONNX Runtime matches cunn at batch 1 and 37, and, given PyTorch's weights, PyTorch."""
import io

import numpy as np
import pytest

import cunn
import cunn.nn as nn

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")
onnxruntime = pytest.importorskip("onnxruntime", reason="ONNX Runtime (test extra) is not installed")

import cunn.onnx  # noqa: E402
from interchange.onnx_check import run_exported  # noqa: E402

if not hasattr(nn, "BatchNorm2d"):
    pytest.skip("the normalisation and average-pooling layers are not in this cunn",
                allow_module_level=True)

DYNAMIC = {"input": {0: "batch"}, "output": {0: "batch"}}


def trained_statistics(model, shape):
    """A few training-mode passes, so the running statistics are not the initial 0 and 1."""
    model.train()
    with cunn.no_grad():
        for seed in range(3):
            model(cunn.tensor(np.random.default_rng(seed).normal(2.0, 3.0, shape)
                              .astype(np.float32)))
    model.eval()
    return model


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.AvgPool2d(2, stride=2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.BatchNorm1d(120), nn.ReLU(),
        nn.Dropout(0.3), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def test_lenet_with_batch_norm_and_average_pooling():
    cunn.manual_seed(0)
    model = trained_statistics(lenet(), (16, 1, 28, 28))
    proto = run_exported(model, cunn.randn(1, 1, 28, 28), [1, 37], tolerance=(1e-4, 1e-5),
                         dynamic_axes=DYNAMIC)
    kinds = [node.op_type for node in proto.graph.node]
    assert kinds.count("BatchNormalization") == 3 and kinds.count("AveragePool") == 2
    assert {"1.running_mean", "1.weight"} <= {item.name for item in proto.graph.initializer}


@pytest.mark.parametrize("layer", [
    lambda: nn.AvgPool2d(3, stride=2, padding=1),
    lambda: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    lambda: nn.AdaptiveAvgPool2d(1),
    lambda: nn.AdaptiveAvgPool2d((2, 4)),
    lambda: nn.BatchNorm2d(4, affine=False),
    lambda: nn.GELU(), lambda: nn.GELU(approximate="tanh"), lambda: nn.ELU(0.7),
    lambda: nn.SiLU(), lambda: nn.Softplus(beta=2.0, threshold=3.0),
], ids=["avg", "avg-exclude-pad", "adaptive-1", "adaptive-2x4", "bn-no-affine", "gelu",
        "gelu-tanh", "elu", "silu", "softplus"])
def test_layer(layer):
    cunn.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(2, 4, 1), layer())
    trained_statistics(model, (8, 2, 8, 8))
    run_exported(model, cunn.randn(1, 2, 8, 8), [1, 37], tolerance=(1e-5, 1e-5),
                 dynamic_axes=DYNAMIC)


def test_uneven_adaptive_pooling_is_refused_by_name():
    model = nn.Sequential(nn.AdaptiveAvgPool2d(3))
    with pytest.raises(RuntimeError, match="adaptive_avg_pool2d from 8x8 to 3x3"):
        cunn.onnx.export(model.eval(), cunn.randn(1, 2, 8, 8), io.BytesIO())


def test_batch_norm_without_running_statistics_is_refused():
    model = nn.Sequential(nn.BatchNorm1d(3, track_running_stats=False))
    with pytest.raises(RuntimeError, match="track_running_stats=False"):
        cunn.onnx.export(model, cunn.randn(4, 3), io.BytesIO())


def test_pytorch_weights_give_pytorchs_outputs_through_onnx():
    torch = pytest.importorskip("torch", reason="the oracle")
    torch.manual_seed(0)
    reference = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.BatchNorm2d(6), torch.nn.ReLU(),
        torch.nn.AvgPool2d(2), torch.nn.Conv2d(6, 16, 5), torch.nn.BatchNorm2d(16),
        torch.nn.ReLU(), torch.nn.AvgPool2d(2, stride=2), torch.nn.Flatten(),
        torch.nn.Linear(16 * 5 * 5, 120), torch.nn.BatchNorm1d(120), torch.nn.ReLU(),
        torch.nn.Dropout(0.3), torch.nn.Linear(120, 84), torch.nn.ReLU(), torch.nn.Linear(84, 10))
    reference.train()
    with torch.no_grad():
        for seed in range(3):
            reference(torch.randn(16, 1, 28, 28) * 3 + 2)
    reference.eval()
    model = lenet()
    model.load_state_dict({key: value.numpy() for key, value in reference.state_dict().items()})
    buffer = io.BytesIO()
    cunn.onnx.export(model, cunn.randn(1, 1, 28, 28), buffer, dynamic_axes=DYNAMIC)
    session = onnxruntime.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    inputs = np.random.default_rng(4).standard_normal((37, 1, 28, 28)).astype(np.float32)
    (got,) = session.run(None, {"input": inputs})
    with torch.no_grad():
        expected = reference(torch.from_numpy(inputs)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
