"""What the ONNX export tests share: loading an example script, and exporting a model
once then comparing ONNX Runtime with cunn at several batch sizes."""
import importlib.util
import io
import sys
from pathlib import Path

import numpy as np
import onnx  # the importers skip first when onnx or onnxruntime is missing
import onnxruntime

import cunn
import cunn.onnx

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(script):
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(script, EXAMPLES / f"{script}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXAMPLES))


def run_exported(model, example_input, batches, tolerance=(1e-5, 1e-5), **options):
    """Exports ``model`` on ``example_input`` once, then compares ORT with cunn on inputs
    of each batch size; returns the ONNX model."""
    if hasattr(model, "eval"):
        model.eval()  # cunn's side must not drop out either (export itself runs in eval)
    cunn.manual_seed(0)
    buffer = io.BytesIO()
    dynamic = options.pop("dynamic_axes", None)
    cunn.onnx.export(model, example_input, buffer, dynamic_axes=dynamic, **options)
    proto = onnx.load_from_string(buffer.getvalue())
    session = onnxruntime.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    input_names = [item.name for item in session.get_inputs()]
    rng = np.random.default_rng(len(batches))
    examples = example_input if isinstance(example_input, tuple) else (example_input,)
    for batch in batches:
        inputs = [rng.standard_normal((batch,) + tuple(np.shape(item))[1:]).astype(np.float32)
                  for item in examples]
        got = session.run(None, dict(zip(input_names, inputs)))
        with cunn.no_grad():
            expected = model(*[cunn.tensor(item) for item in inputs])
        if isinstance(expected, dict):
            expected = list(expected.values())
        elif not isinstance(expected, (tuple, list)):
            expected = [expected]
        assert len(got) == len(expected)
        for ours, theirs in zip(expected, got):
            assert theirs.shape == ours.shape
            np.testing.assert_allclose(theirs, ours.numpy(), rtol=tolerance[0], atol=tolerance[1])
    return proto
