"""The public functions and Tensor methods on device tensors, forward and backward, against
the same calls on host tensors: every op family dispatches by its array to the cuda backend,
and the ops' own NumPy calls (broadcasting, reductions, views) work on device arrays."""
import numpy as np
import pytest

import cunn
import cunn.nn.functional as F
from cunn.autograd import engine
from cunn._backends.cuda.array import DeviceArray, to_device

rng = np.random.default_rng(11)


def f(*shape, low=None, high=None):
    if low is not None:
        return rng.uniform(low, high, shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def labels(batch, classes):
    return rng.integers(0, classes, batch).astype(np.int64)


# name: (function of tensors, input arrays): the first input requires grad, and every
# other floating one in the calls that are not losses.
CALLS = {
    "linear": (lambda x, w, b: F.linear(x, w, b), (f(5, 4), f(3, 4), f(3))),
    "linear 3-D": (lambda x, w: F.linear(x, w), (f(2, 5, 4), f(3, 4))),
    "activations": (lambda x: F.relu(x) + F.leaky_relu(x, 0.2) * F.sigmoid(x) - F.tanh(x)
                    + F.gelu(x) + F.elu(x) * F.silu(x) + F.softplus(x, 2.0), (f(4, 6),)),
    "softmax": (lambda x: F.softmax(x, 1) * F.log_softmax(x, 0), (f(4, 6),)),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
               (f(2, 3, 7, 7), f(4, 3, 3, 3), f(4))),
    "pools": (lambda x: F.max_pool2d(x, 2) + F.avg_pool2d(x, 2)
              + F.adaptive_avg_pool2d(x, (3, 3)), (f(2, 3, 6, 6),)),
    "batch_norm": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                   (f(4, 3, 5), f(3), f(3))),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (5,), w, b), (f(4, 3, 5), f(5), f(5))),
    "embedding": (lambda i, w: F.embedding(i, w, padding_idx=1),
                  (rng.integers(0, 6, (3, 4)).astype(np.int64), f(6, 5))),
    "cross_entropy options": (lambda x, t, w: F.cross_entropy(x, t, weight=w, ignore_index=2,
                                                              label_smoothing=0.1),
                              (f(6, 4), labels(6, 4), f(4, low=0.5, high=2))),
    "cross_entropy probabilities": (lambda x, t: F.cross_entropy(x, t, reduction="sum"),
                                    (f(6, 4), f(6, 4, low=0, high=1) / 4)),
    "nll_loss": (lambda x, t: F.nll_loss(F.log_softmax(x, 1), t, reduction="none"),
                 (f(6, 4), labels(6, 4))),
    "regression losses": (lambda x, t: F.mse_loss(x, t) + F.l1_loss(x, t, reduction="sum")
                          + F.smooth_l1_loss(x, t, beta=0.5) + F.huber_loss(x, t, delta=0.7),
                          (f(3, 5), f(3, 5))),
    "kl_div": (lambda x, t: F.kl_div(F.log_softmax(x, 1), t, reduction="batchmean"),
               (f(3, 5), f(3, 5, low=0.1, high=1))),
    "binary losses": (lambda p, t, w, pw: F.binary_cross_entropy(F.sigmoid(p), t, weight=w)
                      + F.binary_cross_entropy_with_logits(p, t, weight=w, pos_weight=pw),
                      (f(3, 5), f(3, 5, low=0, high=1), f(5, low=0, high=2),
                       f(5, low=0.5, high=2))),
    "arithmetic": (lambda x, y: (x * 2 - y) / (y * y + 1) + x ** 2 - 3 / (x * x + 1) + (-x),
                   (f(4, 1, 3), f(5, 3))),
    "pointwise": (lambda x: (x * x + 1).sqrt() + (x * x + 1).log() + x.exp() + x.abs()
                  + x.clamp(-0.5, 0.5), (f(4, 5),)),
    "reductions": (lambda x: x.sum(1) + x.mean(0).sum() + x.max(1).values + x.min(), (f(4, 5),)),
    "views": (lambda x: x.reshape(5, 4).t()[1:, ::2] * x.transpose(0, 1)[:, :2].flatten()
              .unsqueeze(0)[:, :3], (f(4, 5),)),
    "matmul": (lambda x, y: x @ y, (f(4, 5), f(5, 3))),
    "expand": (lambda x: x.expand(3, 4, 5) * 2, (f(4, 1),)),
    "where": (lambda x, y: cunn.where(x > 0, x, y), (f(4, 5), f(4, 5))),
    "cat stack repeat": (lambda x, y: cunn.cat([x, y], 1).repeat(1, 2)[:, 3:8]
                         + cunn.stack([x, y], 0).sum(0), (f(4, 5), f(4, 5))),
    "integer index": (lambda x: x[cunn.tensor([3, 0, 3, -1])] * 2, (f(4, 5),)),
    "norms": (lambda x: cunn.norm(x, dim=1) + cunn.norm(x, p=float("inf"), dim=1)
              + cunn.norm(x, p=1), (f(4, 5),)),
    "batched matmul": (lambda x, y: (x @ y).sum(0) + (x[0] @ y[0, :, 0])[:, None], (f(2, 3, 4), f(2, 4, 5))),
}


def tensors(arrays, device, loss):
    result = []
    for array in arrays:
        data = to_device(array) if device else array.copy()
        result.append(cunn.Tensor(data, requires_grad=array.dtype == np.float32 and (
            not result or not loss)))
    return result


@pytest.mark.parametrize("name", list(CALLS))
def test_function_forward_and_backward_match_the_host(name):
    function, arrays = CALLS[name]
    loss = "loss" in name or "kl_div" in name or "entropy" in name
    host_inputs, device_inputs = tensors(arrays, False, loss), tensors(arrays, True, loss)
    host_out, device_out = function(*host_inputs), function(*device_inputs)
    assert isinstance(device_out._data, DeviceArray)
    np.testing.assert_allclose(device_out._data.get(), host_out._data, rtol=1e-4, atol=1e-5)
    seed = f(*host_out.shape)
    engine.backward(host_out, seed)
    engine.backward(device_out, to_device(seed))
    for host, device in zip(host_inputs, device_inputs):
        if host.requires_grad:
            assert isinstance(device.grad._data, DeviceArray)
            np.testing.assert_allclose(device.grad._data.get(), host.grad._data, rtol=1e-4,
                                       atol=1e-5)


def test_batch_norm_updates_device_running_statistics_in_place():
    x = f(6, 3, 4)
    host_stats = [np.zeros(3, np.float32), np.ones(3, np.float32)]
    device_stats = [to_device(a) for a in host_stats]
    host_tensors = [cunn.Tensor(a) for a in host_stats]
    device_tensors = [cunn.Tensor(a) for a in device_stats]
    F.batch_norm(cunn.Tensor(x), *host_tensors, training=True, momentum=0.2)
    F.batch_norm(cunn.Tensor(to_device(x)), *device_tensors, training=True, momentum=0.2)
    for host, device, kept in zip(host_tensors, device_tensors, device_stats):
        assert device._data is kept
        np.testing.assert_allclose(kept.get(), host._data, rtol=1e-5)


def test_comparison_and_argmax_stay_on_the_device():
    logits, target = f(8, 5), labels(8, 5)
    device_logits, device_target = cunn.Tensor(to_device(logits)), cunn.Tensor(to_device(target))
    correct = (device_logits.argmax(1) == device_target).sum()
    assert isinstance(correct._data, DeviceArray)
    assert correct.item() == int((logits.argmax(1) == target).sum())


def test_a_cpu_operand_in_a_device_op_is_a_runtime_error():
    x = cunn.Tensor(to_device(f(3, 4)))
    with pytest.raises(RuntimeError, match="cuda:0 and cpu"):
        x + cunn.Tensor(f(3, 4))
    # nn.functional checks devices with its other arguments: the same message as arithmetic
    with pytest.raises(RuntimeError, match="linear: .*same device, found cuda:0 and cpu"):
        F.linear(x, cunn.Tensor(f(2, 4)))
    with pytest.raises(RuntimeError, match="cross_entropy: .*same device, found cuda:0 and cpu"):
        F.cross_entropy(x, cunn.Tensor(labels(3, 4)))


def test_changing_a_device_view_in_place_after_the_forward_is_refused():
    x = cunn.Tensor(to_device(f(3, 4)), requires_grad=True)
    y = x * 2.0  # its node reads x only
    flat = y.reshape(-1)  # a view of y's array: the two share a version counter
    loss = (flat * flat).sum()  # its node reads flat, so it sees the change made through y
    with cunn.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        engine.backward(loss, to_device(np.array(1.0, np.float32)))

