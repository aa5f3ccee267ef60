"""cunn.onnx.export: every example network and each supported op, run by ONNX Runtime,
gives cunn's outputs (float32 tolerance) at batch 1 and 37 from one export."""
import io
import subprocess
import sys

import numpy as np
import pytest

import cunn
import cunn.nn as nn
import cunn.nn.functional as F

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")
onnxruntime = pytest.importorskip("onnxruntime", reason="ONNX Runtime (test extra) is not installed")

import cunn.onnx  # noqa: E402
from interchange.onnx_check import example, run_exported  # noqa: E402
from interchange.subprocess_env import child_environment  # noqa: E402

BATCH = {"input": {0: "batch"}}


def example_networks():
    """Every network the examples train: (name, builder, input shape without the batch)."""
    return [
        ("mnist_mlp", lambda: example("mnist_mlp").MLP(), (1, 28, 28)),
        ("mnist_mlp_flat", lambda: example("mnist_mlp").MLP(), (784,)),
        ("mnist_mlp3", lambda: example("mnist_mlp3").build_model(), (1, 28, 28)),
        ("mnist_cnn", lambda: example("mnist_cnn").CNN(), (1, 28, 28)),
        ("multitask", lambda: example("multitask").TwoHeads(), (1, 28, 28)),
        ("fashion_lenet", lambda: example("fashion_lenet").lenet_batch_norm(), (1, 28, 28)),
    ]


@pytest.mark.parametrize("name, build, shape", example_networks(),
                         ids=[name for name, _, _ in example_networks()])
def test_every_example_network_matches_onnx_runtime(name, build, shape):
    cunn.manual_seed(1)
    model = build()
    for name, buffer in model.named_buffers():
        # Running statistics away from their initial 0 and 1, so the export must carry them.
        if name.endswith("running_mean") or name.endswith("running_var"):
            buffer.data.uniform_(0.5, 1.5)
    model.eval()
    outputs = {"digit": {0: "batch"}, "parity": {0: "batch"}} if name == "multitask" else \
        {"output": {0: "batch"}}
    proto = run_exported(model, cunn.randn(1, *shape), [1, 37],
                         dynamic_axes={**BATCH, **outputs})
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    # Parameters are initializers under their state-dict names.
    # Not num_batches_tracked (nothing in an eval graph reads it) nor running_var (batch norm
    # exports the variance its op normalised by, 1/invstd^2, as a constant of its own).
    assert {item.name for item in proto.graph.initializer} >= {
        key for key in model.state_dict()
        if not key.endswith(("num_batches_tracked", "running_var"))}


def test_fused_sequential_chain_exports_layer_by_layer():
    model = nn.Sequential(nn.Linear(13, 9), nn.ReLU(), nn.Linear(9, 7), nn.ReLU(),
                          nn.Linear(7, 3, bias=False), nn.LogSoftmax(dim=1))
    proto = run_exported(model, cunn.randn(5, 13), [1, 37],
                         dynamic_axes={"input": [0], "output": [0]})
    assert [node.op_type for node in proto.graph.node] == \
        ["Gemm", "Relu", "Gemm", "Relu", "Gemm", "LogSoftmax"]


def test_fused_conv_relu_pool_exports_layer_by_layer():
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 3, 3, bias=False), nn.ReLU(), nn.MaxPool2d(2))
    proto = run_exported(model, cunn.randn(2, 2, 11, 10), [1, 37],
                         dynamic_axes={"input": [0], "output": [0]})
    assert [node.op_type for node in proto.graph.node] == \
        ["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool"]


def test_example_network_trained_a_little_still_matches(tmp_path):
    model = example("mnist_cnn").CNN()
    optimizer = cunn.optim.SGD(model.parameters(), lr=0.1)
    images = cunn.randn(8, 1, 28, 28)
    labels = cunn.tensor(np.arange(8) % 10)
    for _ in range(2):
        optimizer.zero_grad()
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()
    model.train()  # export switches to eval and back
    path = tmp_path / "cnn.onnx"
    cunn.onnx.export(model, images[:2], str(path), dynamic_axes={"input": {0: "n"},
                                                                 "output": {0: "n"}})
    assert model.training
    model.eval()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": images.numpy()})
    with cunn.no_grad():
        np.testing.assert_allclose(got, model(images).numpy(), rtol=1e-4, atol=1e-5)


class Everything(nn.Module):
    """A custom forward using the other ops the exporter knows."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.fc = nn.Linear(4 * 4, 5)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x, y):
        h = F.max_pool2d(F.leaky_relu(self.conv(x), 0.1), 2, stride=1, padding=1)
        h = h.permute(0, 2, 3, 1).mean(dim=(1,))           # (N, W, C)
        h = self.dropout(h.reshape(h.shape[0], -1))          # eval: no dropout
        h = self.fc(h) * 0.5 - 1 + y / 2
        h = cunn.cat([cunn.sigmoid(h), cunn.tanh(h).exp()], dim=1)
        s = cunn.stack([h, h.abs().sqrt()], dim=1).sum(dim=1)
        return F.softmax(s, dim=1), s.unsqueeze(1).squeeze(1) ** 2 + cunn.log(s.abs() + 1)


def test_custom_module_with_many_ops_and_two_inputs():
    cunn.manual_seed(2)
    model = Everything()
    names = {"input_0": {0: "b"}, "input_1": {0: "b"}, "output_0": {0: "b"}, "output_1": {0: "b"}}
    run_exported(model, (cunn.randn(2, 3, 6, 6), cunn.randn(2, 5)), [1, 37], dynamic_axes=names)


@pytest.mark.parametrize("opset", [13, 17, 18])
def test_opsets(opset):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3),
                          nn.Softmax(dim=1))
    proto = run_exported(model, cunn.randn(1, 1, 6, 6), [1, 37], opset_version=opset,
                         dynamic_axes={"input": [0], "output": [0]})
    assert proto.opset_import[0].version == opset


def test_names_and_static_shapes(tmp_path):
    model = nn.Sequential(nn.Linear(4, 2))
    path = tmp_path / "m.onnx"
    cunn.onnx.export(model, cunn.randn(3, 4), path, input_names=["features"],
                     output_names=["scores"])
    proto = onnx.load(str(path))
    assert [item.name for item in proto.graph.input] == ["features"]
    assert [item.name for item in proto.graph.output] == ["scores"]
    dims = [dim.dim_value for dim in proto.graph.output[0].type.tensor_type.shape.dim]
    assert dims == [3, 2]


def test_an_output_that_is_the_input_or_a_parameter():
    class Passthrough(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(cunn.ones(3))

        def forward(self, x):
            y = cunn.relu(x)
            return x, self.scale, y, y

    run_exported(Passthrough(), cunn.randn(2, 3), [2])


def test_unsupported_op_is_named():
    class Clamped(nn.Module):
        def forward(self, x):
            return cunn.clamp(x, min=0.0)

    with pytest.raises(RuntimeError, match="'Clamp'"):
        cunn.onnx.export(Clamped(), cunn.randn(2, 3), io.BytesIO())


def test_outputs_computed_outside_cunn_ops_are_refused():
    def numpy_model(x):
        return cunn.tensor(np.tanh(x.numpy()))

    with pytest.raises(RuntimeError, match="not computed by cunn ops"):
        cunn.onnx.export(numpy_model, cunn.randn(2, 3), io.BytesIO())


@pytest.mark.parametrize("kwargs, error, match", [
    ({"args": 3}, TypeError, "args must be"),
    ({"args": ()}, ValueError, "at least one input"),
    ({"f": 5}, TypeError, "f must be"),
    ({"opset_version": 7}, ValueError, "opset_version"),
    ({"dynamic_axes": {"nope": [0]}}, ValueError, "neither an input nor an output"),
    ({"dynamic_axes": {"input": [5]}}, IndexError, "out of range"),
    ({"input_names": ["a", "b"]}, ValueError, "input_names"),
    ({"output_names": [3]}, TypeError, "output_names"),
    ({"output_names": ["input"]}, ValueError, "must differ"),
])
def test_bad_arguments(kwargs, error, match):
    arguments = {"model": nn.Linear(3, 2), "args": cunn.randn(2, 3), "f": io.BytesIO()}
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        cunn.onnx.export(**arguments)


def test_missing_onnx_names_the_extra():
    script = ("import sys; sys.modules['onnx'] = None\n"
              "import io, cunn, cunn.onnx\n"
              "try:\n"
              "    cunn.onnx.export(cunn.nn.Linear(2, 2), cunn.randn(1, 2), io.BytesIO())\n"
              "except ImportError as error:\n"
              "    print(error)\n")
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env=child_environment(), timeout=120)
    assert 'pip install "cunn[onnx]"' in finished.stdout, finished.stderr


def test_dropout_forced_on_is_refused_with_advice():
    class AlwaysDropping(nn.Module):
        def forward(self, x):
            return F.dropout(x, 0.5, training=True)

    with pytest.raises(RuntimeError, match="training=self.training"):
        cunn.onnx.export(AlwaysDropping(), cunn.randn(2, 3), io.BytesIO())


@pytest.mark.parametrize("change", ["result", "input"])
def test_in_place_changes_are_refused(change):
    class InPlace(nn.Module):
        def forward(self, x):
            if change == "input":
                x += 1.0
                return cunn.relu(x)
            y = cunn.relu(x)
            y *= 2.0
            return y

    with pytest.raises(RuntimeError, match="changed a value in place"):
        cunn.onnx.export(InPlace(), cunn.randn(2, 3), io.BytesIO())
