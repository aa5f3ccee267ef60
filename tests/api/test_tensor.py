"""The Tensor surface of API.md: factories, attributes, conversion, arithmetic, shapes."""
import numpy as np
import pytest

import cunn
import cunn.nn as nn


def test_tensor_dtypes_follow_the_contract():
    assert cunn.tensor([1.5, 2.0]).dtype == cunn.float32
    assert cunn.tensor(np.arange(3.0)).dtype == cunn.float32  # float64 data becomes float32
    assert cunn.tensor([1, 2]).dtype == cunn.int64
    assert cunn.tensor([True]).dtype == cunn.bool
    assert cunn.tensor([1, 2], dtype=cunn.float64).dtype == cunn.float64
    with pytest.raises(TypeError, match="dtype"):
        cunn.tensor(["a", "b"])


def test_tensor_copies_its_data_and_from_numpy_shares_it():
    array = np.ones(3, np.float32)
    copied, shared = cunn.tensor(array), cunn.from_numpy(array)
    array[0] = 5
    assert copied[0].item() == 1 and shared[0].item() == 5


@pytest.mark.parametrize("factory", [cunn.zeros, cunn.ones, cunn.empty, cunn.randn, cunn.rand])
def test_factories_take_varargs_or_a_tuple(factory):
    assert factory(2, 3).shape == (2, 3) == factory((2, 3)).shape
    assert factory(2, 3).dtype == cunn.float32
    assert factory(4, requires_grad=True).requires_grad


def test_random_factories_follow_manual_seed():
    cunn.manual_seed(3)
    first = cunn.randn(5).numpy().copy(), cunn.randint(0, 10, (4,)).numpy().copy()
    cunn.manual_seed(3)
    second = cunn.randn(5).numpy(), cunn.randint(0, 10, (4,)).numpy()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    labels = cunn.randint(0, 10, (60000,))
    assert labels.dtype == cunn.int64 and labels.min().item() >= 0 and labels.max().item() <= 9
    assert 0.0 <= cunn.rand(1000).min().item() and cunn.rand(1000).max().item() < 1.0


def test_arange_dtypes():
    assert cunn.arange(5).dtype == cunn.int64 and cunn.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert cunn.arange(0, 1, 0.25).dtype == cunn.float32


def test_attributes_and_conversions():
    t = cunn.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3) and t.size() == (2, 3) and t.size(0) == 2 and t.size(-1) == 3
    assert t.ndim == 2 and t.dim() == 2 and t.numel() == 6 and len(t) == 2
    assert str(t.device) == "cpu" and t.device == cunn.device("cpu")
    assert t.T.shape == (3, 2)
    assert np.asarray(t).dtype == np.float32 and t.tolist()[1] == [4.0, 5.0, 6.0]
    assert float(t[0, 1]) == 2.0 and t.sum().item() == 21.0
    assert t.long().dtype == cunn.int64 and t.long().float().dtype == cunn.float32
    assert t.to("cpu") is t and t.to(cunn.float64).dtype == cunn.float64
    if not cunn.cuda.is_available():  # API.md: CUDA asked for where absent is a RuntimeError
        with pytest.raises(RuntimeError, match="'cuda'.*CUDA is not available"):
            t.to("cuda")
    with pytest.raises(ValueError, match="one element"):
        t.item()
    assert t.clone().numpy() is not t.numpy()


def test_arithmetic_broadcasts_and_keeps_float32():
    a = cunn.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = cunn.tensor([10.0, 20.0])
    np.testing.assert_array_equal((a + b).numpy(), [[11, 22], [13, 24]])
    np.testing.assert_array_equal((b - a).numpy(), [[9, 18], [7, 16]])
    np.testing.assert_array_equal((a * 2).numpy(), [[2, 4], [6, 8]])
    np.testing.assert_array_equal((1 / a).numpy(), 1 / a.numpy())
    np.testing.assert_array_equal((a ** 2).numpy(), a.numpy() ** 2)
    np.testing.assert_array_equal((-a).numpy(), -a.numpy())
    np.testing.assert_array_equal((a @ a).numpy(), a.numpy() @ a.numpy())
    assert (a * 2).dtype == cunn.float32 and (a + np.float64(1)).dtype == cunn.float32
    assert (np.ones(2, np.float32) + b).dtype == cunn.float32
    labels = cunn.tensor([1, 2, 3])
    assert (labels + 1).dtype == cunn.int64 and (labels * 0.5).dtype == cunn.float32
    assert (labels / 2).dtype == cunn.float32


def test_comparisons_give_bool_tensors_and_counts():
    predicted, labels = cunn.tensor([1, 2, 3, 4]), cunn.tensor([1, 0, 3, 0])
    same = predicted == labels
    assert same.dtype == cunn.bool and same.sum().item() == 2
    assert (predicted > 2).tolist() == [False, False, True, True]
    assert predicted.eq(labels).sum().item() == 2


def test_max_with_and_without_dim():
    x = cunn.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    assert cunn.max(x).item() == 7.0 and x.max().item() == 7.0
    values, indices = cunn.max(x, 1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert x.max(dim=0).indices.tolist() == [1, 0, 1]
    assert x.argmax(1).tolist() == [1, 0] and x.min().item() == 0.0
    assert x.sum(0).tolist() == [8.0, 5.0, 9.0] and x.mean(1, keepdim=True).shape == (2, 1)
    with pytest.raises(IndexError, match="dim"):
        x.sum(2)


def test_flatten_of_nothing_returns_the_input_itself():
    # PyTorch: "If no dimensions are flattened, then the original object input is returned."
    x = cunn.arange(24).float().reshape(2, 12).requires_grad_()
    assert cunn.flatten(x, 1) is x and x.flatten(1, -1) is x and nn.Flatten()(x) is x
    vector = cunn.arange(5).float()
    assert vector.flatten() is vector
    scalar = cunn.tensor(3.0)
    assert scalar.flatten().shape == (1,) and scalar.flatten() is not scalar
    three_d = cunn.arange(24).float().reshape(2, 3, 4)
    assert three_d.flatten(1, 1) is three_d and three_d.flatten(1).shape == (2, 12)
    with pytest.raises(IndexError, match="flatten"):
        x.flatten(2)
    (cunn.flatten(x, 1) * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad._data, np.full((2, 12), 2.0, np.float32))


def test_reshape_sizes_are_exact_python_ints():
    # Sizes multiply as Python ints: a product past int64 is refused, not wrapped around.
    x = cunn.zeros(6)
    assert x.reshape(2, -1).shape == (2, 3) and x.view(3, 2, 1).shape == (3, 2, 1)
    with pytest.raises(ValueError, match="invalid"):  # in int64 the two sizes multiply to -1
        x.reshape(2**32 + 1, 2**32 - 1, -1)
    with pytest.raises(ValueError, match="invalid"):
        x.reshape(0, -1)


def test_shapes_and_indexing():
    x = cunn.arange(24).float().reshape(2, 3, 4)
    assert x.view(-1, 12).shape == (2, 12) and x.view(6, -1).shape == (6, 4)
    assert x.flatten().shape == (24,) and cunn.flatten(x, 1).shape == (2, 12)
    assert x.transpose(0, 2).shape == (4, 3, 2) and x.permute(1, 2, 0).shape == (3, 4, 2)
    assert x.unsqueeze(1).shape == (2, 1, 3, 4) and x.unsqueeze(1).squeeze(1).shape == (2, 3, 4)
    assert x[1, 2, 3].item() == 23 and x[:, 0].shape == (2, 4)
    assert x[cunn.tensor([1, 0])][0, 0, 0].item() == 12
    assert cunn.cat([x, x], 0).shape == (4, 3, 4) and cunn.stack([x, x], 1).shape == (2, 2, 3, 4)
    with pytest.raises(ValueError, match="invalid"):
        x.view(5, -1)
    with pytest.raises(ValueError, match="one dimension"):
        x.view(-1, -1)


def test_in_place_initialisers():
    cunn.manual_seed(0)
    w = cunn.empty(200, 300)
    w.normal_(0.1, 0.3)
    assert abs(w.mean().item() - 0.1) < 0.01 and abs(w.numpy().std() - 0.3) < 0.01
    w.uniform_(-2, 2)
    assert -2 <= w.min().item() and w.max().item() <= 2
    assert w.zero_().sum().item() == 0 and w.fill_(3).mean().item() == 3
    w.copy_(np.ones((200, 300)))
    assert w.sum().item() == 60000
    with pytest.raises(ValueError, match="shape"):
        w.copy_(np.ones(7))


def test_repr_looks_like_pytorch():
    assert repr(cunn.tensor([1.0, 2.5])) == "tensor([1.0000, 2.5000])"
    assert repr(cunn.tensor([1, 2])) == "tensor([1, 2])"
    assert "requires_grad=True" in repr(cunn.zeros(2, requires_grad=True))
    assert "grad_fn=<" in repr(cunn.zeros(2, requires_grad=True) * 2)


def test_tensors_hash_by_identity():
    a, b = cunn.zeros(2), cunn.zeros(2)
    assert len({a, b}) == 2


def test_threads_and_backends():
    threads = cunn.get_num_threads()
    cunn.set_num_threads(1)
    assert cunn.get_num_threads() == 1
    cunn.set_num_threads(threads)
    with pytest.raises(ValueError):
        cunn.set_num_threads(0)
    assert "numpy" in cunn.available_backends() and "cpu" in cunn.available_backends()
    with pytest.raises(ValueError, match="unknown backend"):
        cunn.use_backend("tpu")
    assert cunn.cuda.is_available() in (True, False)


def test_matmul_of_arrays_reads_them_in_place_and_keeps_what_a_gradient_needs():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 7)).astype(np.float32)
    w = rng.standard_normal((7, 3)).astype(np.float32)
    expected = x.astype(np.float64) @ w.astype(np.float64)
    product = cunn.matmul(x, w)
    np.testing.assert_allclose(product.numpy(), expected, rtol=1e-5, atol=1e-5)
    assert not np.shares_memory(product.numpy(), x) and not np.shares_memory(product.numpy(), w)
    # Beside a Tensor that requires grad, the array is copied: changing it afterwards
    # must not change the gradient that backward computes from the forward's values.
    weight = cunn.from_numpy(w.copy()).requires_grad_()
    saved = x.copy()
    loss = cunn.matmul(x, weight).sum()
    x[:] = 0
    loss.backward()
    np.testing.assert_allclose(weight.grad.numpy(), np.broadcast_to(
        saved.sum(axis=0)[:, None], (7, 3)), rtol=1e-5, atol=1e-5)
    assert cunn.matmul(x.astype(np.float64), w.astype(np.float64)).dtype == cunn.float32
