"""AvgPool2d, AdaptiveAvgPool2d, GELU, ELU, SiLU, Softplus, LeakyReLU, Dropout2d, Embedding
and Unflatten against PyTorch as the oracle (forward and input / weight gradients) on both
backends, their functional forms against float64 finite differences, and user errors.

Tolerance: float32, the same formulas: rtol 1e-5, atol 2e-5 (see the kernel tests for why
GELU's gradient needs 2e-5).
"""
import numpy as np
import pytest

import cunn
import cunn.nn as nn
import cunn.nn.functional as F
from api.gradcheck import check_gradients, compare_backends

torch = pytest.importorskip("torch")


def _draw(shape, seed=0, scale=3.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def _compare(ours, theirs, x, atol=2e-5):
    mine = cunn.tensor(x, requires_grad=True)
    reference = torch.tensor(x, requires_grad=True)
    out, out_torch = ours(mine), theirs(reference)
    assert tuple(out.shape) == tuple(out_torch.shape)
    np.testing.assert_allclose(out.numpy(), out_torch.detach().numpy(), rtol=1e-5, atol=atol)
    projection = _draw(tuple(out_torch.shape), 99, 1.0)
    out.backward(cunn.tensor(projection))
    out_torch.backward(torch.from_numpy(projection))
    np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-5, atol=atol)


POOLS = [
    ("AvgPool2d", (2,), {}, (2, 3, 24, 24)),
    ("AvgPool2d", (2, 2), {}, (1, 1, 7, 9)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1), (2, 3, 9, 11)),
    ("AvgPool2d", ((3, 2),), dict(stride=(2, 1), padding=(1, 1)), (1, 2, 8, 5)),
    ("AvgPool2d", (3,), dict(stride=1, padding=1, count_include_pad=False), (2, 2, 6, 7)),
    ("AvgPool2d", (2,), {}, (3, 8, 8)),  # unbatched (C, H, W)
    ("AdaptiveAvgPool2d", ((4, 5),), {}, (2, 3, 9, 11)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 7, 7)),
    ("AdaptiveAvgPool2d", ((7, 6),), {}, (1, 2, 5, 3)),
    ("AdaptiveAvgPool2d", ((None, 3),), {}, (2, 2, 5, 7)),
    ("AdaptiveAvgPool2d", (3,), {}, (4, 10, 10)),
]


@pytest.mark.parametrize("layer, args, options, shape", POOLS)
def test_pooling_matches_torch(layer, args, options, shape, backend):
    _compare(getattr(nn, layer)(*args, **options), getattr(torch.nn, layer)(*args, **options),
             _draw(shape))


ACTIVATIONS = [("GELU", {}), ("GELU", dict(approximate="tanh")), ("ELU", {}),
               ("ELU", dict(alpha=0.4)), ("ELU", dict(inplace=True)), ("SiLU", {}),
               ("SiLU", dict(inplace=True)), ("Softplus", {}),
               ("Softplus", dict(beta=2.0, threshold=3.0)), ("LeakyReLU", dict(negative_slope=0.2)),
               ("LeakyReLU", dict(inplace=True))]


@pytest.mark.parametrize("layer, options", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1,), (3, 17), (2, 3, 5, 7)])
def test_activations_match_torch(layer, options, shape, backend):
    x = _draw(shape)
    # torch refuses inplace on a leaf that requires grad; cunn accepts it and computes out of
    # place, so its result is compared with torch's out-of-place one.
    torch_options = {key: value for key, value in options.items() if key != "inplace"}
    _compare(getattr(nn, layer)(**options), getattr(torch.nn, layer)(**torch_options), x)
    assert np.array_equal(x, _draw(shape)), "inplace=True must leave the input as it was"


@pytest.mark.parametrize("padding_idx", [None, 0, -2])
@pytest.mark.parametrize("index_shape", [(5,), (3, 4), (1, 1), ()])
def test_embedding_matches_torch(index_shape, padding_idx, backend):
    ours = nn.Embedding(11, 6, padding_idx=padding_idx)
    theirs = torch.nn.Embedding(11, 6, padding_idx=padding_idx)
    if padding_idx is not None:
        assert not ours.weight.numpy()[padding_idx].any()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.numpy().copy()))
    # Indices from a small range, so they repeat, and the padding row is hit.
    indices = np.random.default_rng(1).integers(0, 4, index_shape)
    indices.flat[:1] = 9
    out = ours(cunn.tensor(indices))
    out_torch = theirs(torch.from_numpy(indices))
    np.testing.assert_array_equal(out.numpy(), out_torch.detach().numpy())
    projection = _draw(tuple(out_torch.shape), 2, 1.0)
    out.backward(cunn.tensor(projection))
    out_torch.backward(torch.from_numpy(projection))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-6,
                               atol=1e-6)


def test_embedding_from_pretrained_and_errors():
    weights = _draw((4, 3))
    layer = nn.Embedding.from_pretrained(cunn.tensor(weights))
    assert not layer.weight.requires_grad
    np.testing.assert_array_equal(layer(cunn.tensor([3, 0])).numpy(), weights[[3, 0]])
    with pytest.raises(IndexError, match="embedding: index 4 out of range for 4 embeddings"):
        layer(cunn.tensor([1, 4]))
    with pytest.raises(IndexError, match="embedding: index -1 out of range"):
        layer(cunn.tensor([-1]))
    with pytest.raises(TypeError, match="embedding: input must hold integer indices"):
        layer(cunn.tensor([1.0]))
    with pytest.raises(ValueError, match="padding_idx must be within num_embeddings"):
        nn.Embedding(3, 2, padding_idx=3)


def test_dropout2d_zeroes_whole_channels_and_scales():
    cunn.manual_seed(0)
    layer = nn.Dropout2d(p=0.4)
    x = cunn.tensor(np.ones((8, 16, 3, 5), np.float32), requires_grad=True)
    out = layer(x)
    values = out.numpy()
    per_channel = values.reshape(8, 16, -1)
    assert ((per_channel == 0).all(axis=2) | np.isclose(per_channel, 1 / 0.6).all(axis=2)).all()
    dropped = (per_channel == 0).all(axis=2).mean()
    assert 0.2 < dropped < 0.6
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)
    layer.eval()
    assert layer(x) is x or np.array_equal(layer(x).numpy(), x.numpy())
    cunn.manual_seed(3)
    first = F.dropout2d(x, 0.5).numpy()
    cunn.manual_seed(3)
    with cunn.backend("numpy"):
        np.testing.assert_array_equal(F.dropout2d(x, 0.5).numpy(), first)
    with pytest.raises(ValueError, match="Dropout2d: dropout probability"):
        nn.Dropout2d(1.5)
    with pytest.raises(ValueError, match="dropout2d: input must be 3-D or 4-D"):
        F.dropout2d(cunn.ones(2, 3), 0.5)


@pytest.mark.parametrize("dim, sizes, shape", [(1, (2, 5), (3, 10)), (-1, (2, -1), (4, 3, 8)),
                                               (0, (1, 3), (3, 2)), (1, (2, 2, 4), (1, 16))])
def test_unflatten_matches_torch(dim, sizes, shape, backend):
    _compare(nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes), _draw(shape))


def test_unflatten_errors():
    with pytest.raises(ValueError, match=r"Unflatten.*sizes \(3, 3\) do not multiply"):
        nn.Unflatten(1, (3, 3))(cunn.ones(2, 10))
    with pytest.raises(IndexError, match="dim 2 out of range"):
        nn.Unflatten(2, (2, 5))(cunn.ones(2, 10))
    with pytest.raises(TypeError, match="Unflatten: unflattened_size"):
        nn.Unflatten(1, 5)


def test_functional_gradients_by_finite_differences():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 5, 6))
    check_gradients(lambda t: F.avg_pool2d(t, 3, 2, 1), x)
    check_gradients(lambda t: F.avg_pool2d(t, 3, 1, 1, count_include_pad=False), x)
    check_gradients(lambda t: F.adaptive_avg_pool2d(t, (4, 4)), x)
    values = rng.standard_normal((3, 7)) * 2
    for function in (F.gelu, lambda t: F.gelu(t, approximate="tanh"), F.elu, F.silu,
                     lambda t: F.softplus(t, beta=1.5, threshold=2.0)):
        check_gradients(function, values)
    weight = rng.standard_normal((6, 3))
    indices = cunn.tensor([[1, 4], [1, 1]])
    # (The padding row's gradient is zero by definition, not by finite differences.)
    check_gradients(lambda w: F.embedding(indices, w), weight)


def test_functional_forms_agree_across_backends():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 11, 13))
    compare_backends(lambda t: F.avg_pool2d(t, (3, 2), (2, 3), (1, 1)), x)
    compare_backends(lambda t: F.adaptive_avg_pool2d(t, (5, 3)), x)
    for function in (F.gelu, F.elu, F.silu, F.softplus):
        compare_backends(function, x, atol=2e-5)
    weight = rng.standard_normal((20, 7))
    indices = cunn.tensor(rng.integers(0, 20, (5, 9)))
    compare_backends(lambda w: F.embedding(indices, w), weight)


def test_user_errors():
    with pytest.raises(ValueError, match="avg_pool2d: input must be 3-D"):
        F.avg_pool2d(cunn.ones(2, 3), 2)
    with pytest.raises(ValueError, match="avg_pool2d: padding must be at most half"):
        F.avg_pool2d(cunn.ones(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(ValueError, match="avg_pool2d: kernel .* is larger than the padded"):
        F.avg_pool2d(cunn.ones(1, 1, 4, 4), 5)
    with pytest.raises(ValueError, match="AvgPool2d: ceil_mode=True"):
        nn.AvgPool2d(2, ceil_mode=True)
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: output_size must be ints >= 1"):
        F.adaptive_avg_pool2d(cunn.ones(1, 1, 4, 4), 0)
    with pytest.raises(TypeError, match="AdaptiveAvgPool2d: output_size must be"):
        nn.AdaptiveAvgPool2d((1, 2, 3))
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh'"):
        F.gelu(cunn.ones(2), approximate="fast")
    with pytest.raises(ValueError, match="GELU: approximate"):
        nn.GELU("erf")
    with pytest.raises(TypeError, match="elu: input must be float32"):
        F.elu(cunn.tensor([1, 2]))
    with pytest.raises(ValueError, match="softplus: beta must be non-zero"):
        F.softplus(cunn.ones(2), beta=0)
    with pytest.raises(TypeError, match="Softplus: beta must be a number"):
        nn.Softplus(beta="2")


def test_one_hot_matches_torch():
    labels = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(F.one_hot(cunn.tensor(labels), 5).numpy(),
                                  torch.nn.functional.one_hot(torch.from_numpy(labels), 5))
    np.testing.assert_array_equal(F.one_hot(cunn.tensor(labels)).numpy(),
                                  torch.nn.functional.one_hot(torch.from_numpy(labels)))


def test_functional_inplace_keywords_are_accepted():
    x = cunn.tensor(_draw((3, 4)))
    before = x.numpy().copy()
    for function in (F.relu, F.leaky_relu, F.elu, F.silu,
                     lambda t, inplace: F.dropout(t, 0.5, False, inplace=inplace),
                     lambda t, inplace: F.dropout2d(t.reshape(3, 4, 1), 0.5, False,
                                                    inplace=inplace).reshape(3, 4)):
        np.testing.assert_array_equal(function(x, inplace=True).numpy(),
                                      function(x, inplace=False).numpy())
        np.testing.assert_array_equal(x.numpy(), before)
