"""The autograd engine: fan-out, reuse, deep chains, accumulation, no_grad, freeing."""
import numpy as np
import pytest

import cunn


def leaf(values):
    return cunn.tensor(np.asarray(values, dtype=np.float32), requires_grad=True)


def test_fan_out_sums_the_gradients_of_every_use():
    x = leaf([1.0, 2.0, 3.0])
    y = x * x + x * 3.0 + x.exp()  # x used four times
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 3 + np.exp(x.numpy()), rtol=1e-6)


def test_a_parameter_reused_in_a_chain():
    w = leaf([[0.5, -1.0], [2.0, 0.25]])
    x = cunn.tensor([[1.0, 2.0]])
    h = x @ w
    out = (h @ w).sum()
    out.backward()
    # d/dw sum(x w w) = x^T (1 w^T) + (x w)^T 1
    ones = np.ones((1, 2), np.float32)
    expected = x.numpy().T @ (ones @ w.numpy().T) + (x.numpy() @ w.numpy()).T @ ones
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-6)


def test_diamond_graph_runs_each_node_once():
    x = leaf([2.0])
    a = x * 2.0
    b = a * 3.0
    c = a * 4.0
    (b + c).backward(cunn.ones(1))
    assert x.grad.item() == pytest.approx(14.0)


def test_input_reused_without_in_place_changes():
    x = leaf(np.arange(6.0).reshape(2, 3))
    first = (x * 2.0).sum()
    second = (x * x).sum()
    (first + second).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 + 2 * x.numpy())


def test_deep_chain_does_not_hit_the_recursion_limit():
    x = leaf([1.0])
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 5000, rel=1e-3)


def test_gradients_accumulate_until_zeroed():
    x = leaf([1.0, -2.0])
    for _ in range(3):
        (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])
    x.grad.zero_()
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_the_leaf_gradient_is_not_shared_with_another_leaf():
    a, b = leaf([1.0]), leaf([2.0])
    (a + b).backward(cunn.ones(1))
    a.grad += 10.0  # must not leak into b.grad
    assert b.grad.item() == 1.0


def test_no_grad_records_nothing_and_works_as_a_decorator():
    x = leaf([1.0, 2.0])
    with cunn.no_grad():
        y = x * 2.0
    assert not y.requires_grad and y.grad_fn is None

    @cunn.no_grad()
    def double(value):
        return value * 2.0

    assert double(x).grad_fn is None
    assert (x * 2.0).requires_grad  # restored afterwards
    with cunn.no_grad():
        with cunn.enable_grad():
            assert (x * 2.0).requires_grad


def test_the_graph_is_freed_after_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    z = (x * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * 2 * x.numpy())


def test_backward_needs_a_scalar_or_a_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="one element"):
        (x * 2.0).backward()
    with pytest.raises(ValueError, match="shape"):
        (x * 2.0).backward(cunn.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        cunn.ones(2).sum().backward()


def test_detach_and_data_leave_the_graph_and_share_storage():
    x = leaf([1.0, 2.0])
    d = x.detach()
    assert not d.requires_grad and np.shares_memory(d.numpy(), x.numpy())
    x.data.zero_()
    np.testing.assert_array_equal(x.numpy(), [0.0, 0.0])
    ((x.detach() * x).sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_in_place_change_of_a_tensor_requiring_grad_is_refused():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="in place"):
        x += 1.0
    with cunn.no_grad():
        x -= 0.5
    assert x.item() == 0.5
    x.data -= 0.5  # the manual-SGD idiom
    assert x.item() == 0.0


def test_nan_propagates_without_crashing():
    x = leaf([np.nan, 1.0])
    y = cunn.relu(x * 2.0).sum()
    y.backward()
    assert np.isnan(y.item())


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating"):
        cunn.tensor([1, 2], requires_grad=True)


def test_gradients_stay_independent_when_one_array_feeds_several_places():
    # a + b hands one array to both; c also flows on into a later node
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    c = a * 1.0
    total = (a + c) + b
    total.backward(cunn.tensor([1.0, 1.0]))
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])
    a.grad += 100.0
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


def test_the_gradient_given_to_backward_is_not_aliased():
    x = leaf([1.0, 2.0])
    seed = np.array([1.0, 1.0], np.float32)
    (x + 0.0).backward(seed)
    x.grad += 5.0
    np.testing.assert_array_equal(seed, [1.0, 1.0])


def test_a_leaf_used_twice_in_one_op_gets_both_gradients():
    x = leaf([1.0, 2.0])
    (x + x).backward(cunn.ones(2))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


class _FreshScaleBackward(cunn.autograd.function.Function):
    """A node that declares fresh gradients and returns `saved[0]` for its one input."""
    __slots__ = ()
    fresh_gradients = True

    def backward(self, grad_output):
        return (self.saved[0],)


def _through_fresh_node(x, gradient):
    return _FreshScaleBackward.record(np.array(x._data.sum(), dtype=np.float32), (x,), gradient)


def test_a_fresh_gradient_is_adopted_then_accumulated_into():
    x = leaf([1.0, 2.0])
    gradient = np.array([3.0, 4.0], np.float32)
    _through_fresh_node(x, gradient).backward()
    assert x.grad._data is gradient
    _through_fresh_node(x, np.array([1.0, 1.0], np.float32)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 5.0])
    assert x.grad._data is gradient  # summed in place into the adopted array


@pytest.mark.parametrize("gradient,expected", [(np.array([3.0, 4.0], np.float64), [3.0, 4.0]),
                                               (np.array(3.0, np.float32), [3.0, 3.0])],
                         ids=["float64", "0-d"])
def test_a_fresh_gradient_of_another_dtype_or_shape_is_converted(gradient, expected):
    x = leaf([1.0, 2.0])
    _through_fresh_node(x, gradient).backward()
    assert x.grad._data is not gradient
    assert x.grad._data.dtype == np.float32 and x.grad._data.shape == (2,)
    np.testing.assert_array_equal(x.grad.numpy(), expected)


@pytest.mark.parametrize("backend", ["cpu", "numpy"])
def test_the_fused_mlp_adopts_its_kernel_gradients(backend):
    with cunn.backend(backend):
        cunn.manual_seed(0)
        model = cunn.nn.Sequential(cunn.nn.Linear(6, 5), cunn.nn.ReLU(), cunn.nn.Linear(5, 3))
        x = cunn.tensor(np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32))
        y = cunn.tensor(np.array([0, 2, 1, 2]))
        cunn.nn.CrossEntropyLoss()(model(x), y).backward()
        first = [p.grad.numpy().copy() for p in model.parameters()]
        grads = [p.grad._data for p in model.parameters()]
        assert len({id(g) for g in grads}) == 4
        for p in model.parameters():
            assert p.grad._data.flags.owndata and p.grad._data.dtype == np.float32
        cunn.nn.CrossEntropyLoss()(model(x), y).backward()
        for p, g in zip(model.parameters(), first):
            np.testing.assert_array_equal(p.grad.numpy(), (g + g))
