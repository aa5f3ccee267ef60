"""The Tensor additions PyTorch programs use (API.md, Tensor): the legacy constructor, norm,
std/var, expand, repeat, type, topk, comparisons, where, randperm, eye, linspace, is_tensor,
grad-mode switches, Generator, axis= and dtype aliases; each against torch as the oracle
(skipped without torch) and by float64 finite differences, on every backend."""
import numpy as np
import pytest

import cunn
from api.gradcheck import check_gradients

torch = pytest.importorskip("torch")


def _pair(array, requires_grad=True):
    """The same float32 data as a cunn and a torch leaf."""
    array = np.asarray(array, dtype=np.float32)
    return (cunn.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def _compare(ours, theirs, our_inputs, their_inputs, rtol=1e-5, atol=1e-6, seed=0):
    """Outputs and gradients (for a random projection of the output) agree."""
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol)
    projection = np.random.default_rng(seed).standard_normal(ours.shape).astype(np.float32)
    ours.backward(cunn.tensor(projection))
    theirs.backward(torch.from_numpy(projection))
    for mine, reference in zip(our_inputs, their_inputs):
        if reference.grad is None:
            assert mine.grad is None
            continue
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=rtol,
                                   atol=atol)


def _data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---- the legacy constructor and dtype aliases ----

def test_legacy_constructor_gives_float32_data_or_an_uninitialised_shape():
    assert cunn.Tensor([1, 2]).dtype == cunn.float32 == torch.Tensor([1, 2]).numpy().dtype
    assert cunn.Tensor([1, 2]).tolist() == [1.0, 2.0]
    assert cunn.Tensor((2, 3)).tolist() == torch.Tensor((2, 3)).tolist()  # a tuple is data
    empty = cunn.Tensor(2, 3)
    assert empty.shape == (2, 3) and empty.dtype == cunn.float32
    assert cunn.Tensor(5).shape == tuple(torch.Tensor(5).shape) == (5,)
    assert cunn.Tensor((4, 1)).shape == (2,) and cunn.Tensor().shape == (0,)
    assert cunn.Tensor([[True, False]]).dtype == cunn.float32
    assert isinstance(cunn.Tensor(2, 3), cunn.Tensor)
    with pytest.raises(ValueError, match="sizes must be >= 0"):
        cunn.Tensor(2, -1)
    with pytest.raises(TypeError, match="sizes must be ints"):
        cunn.Tensor(2, 3.5)
    with pytest.raises(TypeError, match="single number"):
        cunn.Tensor(2.5)
    with pytest.raises(TypeError, match="data or sizes"):
        cunn.Tensor([1, 2], 3)


def test_dtype_aliases_are_pytorchs():
    assert cunn.float is cunn.float32 and cunn.double is cunn.float64
    assert cunn.long is cunn.int64 and cunn.int is cunn.int32
    assert cunn.zeros(2, dtype=cunn.long).dtype == np.int64


def test_type_names_and_casts():
    x = cunn.tensor([1.5, -2.5])
    assert x.type() == "cunn.FloatTensor"
    assert x.type(cunn.long).type() == "cunn.LongTensor"
    assert x.type(cunn.int64).tolist() == torch.tensor([1.5, -2.5]).type(torch.int64).tolist()
    assert x.type("torch.DoubleTensor").dtype == cunn.float64
    assert x.type(cunn.float32) is x
    with pytest.raises(ValueError, match="unknown tensor type"):
        x.type("torch.NopeTensor")
    leaf = cunn.tensor([1.0, 2.0], requires_grad=True)
    leaf.type(cunn.float64).sum().backward()
    assert leaf.grad.dtype == cunn.float32 and leaf.grad.tolist() == [1.0, 1.0]


# ---- norm, var, std ----

NORM_CASES = [("fro", None, False), (2, None, False), (2, 1, False), (2, (0, 2), True),
              (1, 0, False), (3, -1, True), (0.5, 1, False), (float("inf"), 1, False),
              (float("-inf"), None, False), (0, 2, False), (2.0, -1, False)]


@pytest.mark.parametrize("p,dim,keepdim", NORM_CASES)
def test_norm_matches_torch(backend, p, dim, keepdim):
    array = _data(3, 5, 4)
    ours, theirs = _pair(array)
    _compare(ours.norm(p, dim, keepdim), theirs.norm(p, dim, keepdim), [ours], [theirs])
    function_form = cunn.norm(cunn.tensor(array), p=p, dim=dim, keepdim=keepdim)
    np.testing.assert_allclose(function_form.numpy(),
                               torch.norm(torch.tensor(array), p=p, dim=dim,
                                          keepdim=keepdim).numpy(), rtol=1e-5, atol=1e-6)


def test_norm_gradient_at_zero_is_zero_as_in_torch():
    ours, theirs = _pair(np.zeros((2, 3)))
    _compare(ours.norm(dim=1), theirs.norm(dim=1), [ours], [theirs])
    assert np.all(np.isfinite(ours.grad.numpy()))


def test_norm_inf_shares_the_gradient_between_ties():
    ours, theirs = _pair([[3.0, -3.0, 1.0], [2.0, 0.5, 2.0]])
    _compare(ours.norm(float("inf"), dim=1), theirs.norm(float("inf"), dim=1), [ours], [theirs])


@pytest.mark.parametrize("p", [2, 1, 3, float("inf")])
def test_norm_gradient_by_finite_differences(p):
    array = np.random.default_rng(1).uniform(0.5, 2.0, (3, 4)) * np.array([1, -1, 1, -1])
    check_gradients(lambda x: x.norm(p, dim=1), array, tolerance=1e-5)


def test_norm_rejects_bad_arguments():
    x = cunn.randn(3)
    with pytest.raises(ValueError, match="nuclear"):
        x.norm("nuc")
    with pytest.raises(TypeError, match="floating"):
        cunn.tensor([1, 2]).norm()
    with pytest.raises(IndexError, match="dim 3 out of range"):
        x.norm(dim=3)


VAR_CASES = [dict(), dict(dim=0), dict(dim=1, keepdim=True), dict(dim=(0, 2)),
             dict(dim=1, correction=0), dict(dim=2, correction=2), dict(unbiased=False),
             dict(dim=0, unbiased=True, keepdim=True)]


@pytest.mark.parametrize("kwargs", VAR_CASES)
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_and_std_match_torch(backend, name, kwargs):
    array = _data(4, 3, 5, seed=2)
    ours, theirs = _pair(array)
    _compare(getattr(ours, name)(**kwargs), getattr(theirs, name)(**kwargs), [ours], [theirs],
             rtol=2e-5, atol=1e-5)


def test_var_positional_unbiased_overloads_match_torch():
    array = _data(4, 6, seed=3)
    ours, theirs = cunn.tensor(array), torch.tensor(array)
    for args in [(False,), (True,), (1, False), (0, True, True)]:
        np.testing.assert_allclose(ours.std(*args).numpy(), theirs.std(*args).numpy(),
                                   rtol=1e-5)
        np.testing.assert_allclose(cunn.var(ours, *args).numpy(), torch.var(theirs, *args).numpy(),
                                   rtol=1e-5)


def test_var_of_too_few_elements_is_nan_or_inf_as_in_torch():
    ours, theirs = cunn.tensor([[1.0], [2.0]]), torch.tensor([[1.0], [2.0]])
    with pytest.warns(UserWarning):  # torch warns; cunn gives the same values quietly
        np.testing.assert_array_equal(ours.var(dim=1).numpy(), theirs.var(dim=1).numpy())
    with pytest.warns(UserWarning):
        np.testing.assert_array_equal(ours.var(dim=0, correction=2).numpy(),
                                      theirs.var(dim=0, correction=2).numpy())  # inf


def test_var_and_std_gradients_by_finite_differences():
    array = np.random.default_rng(4).standard_normal((3, 5))
    check_gradients(lambda x: x.var(dim=1), array)
    check_gradients(lambda x: x.std(dim=0, correction=0), array, tolerance=1e-5)


def test_var_rejects_both_correction_and_unbiased():
    with pytest.raises(TypeError, match="either correction or unbiased"):
        cunn.randn(3).var(unbiased=True, correction=1)


# ---- expand, repeat ----

@pytest.mark.parametrize("shape,sizes", [((3, 1), (3, 4)), ((1, 4), (2, 5, 4)),
                                         ((2, 1, 3), (-1, 6, -1)), ((1,), (7,)),
                                         ((), (2, 3))])
def test_expand_matches_torch(backend, shape, sizes):
    ours, theirs = _pair(_data(*shape) if shape else np.float32(1.5))
    _compare(ours.expand(*sizes), theirs.expand(*sizes), [ours], [theirs])
    other = cunn.zeros(*[size if size != -1 else dim for size, dim in
                         zip(sizes, (0,) * (len(sizes) - len(shape)) + shape)])
    assert cunn.tensor(_data(*shape) if shape else 1.0).expand_as(other).shape == other.shape


def test_expand_rejects_impossible_sizes():
    with pytest.raises(ValueError, match="must match"):
        cunn.zeros(3, 2).expand(3, 4)
    with pytest.raises(ValueError, match="at least"):
        cunn.zeros(3, 2).expand(6)


@pytest.mark.parametrize("shape,repeats", [((2, 3), (2, 1)), ((2, 3), (1, 3, 2)),
                                           ((4,), (3,)), ((2, 1, 3), (2, 2, 2)),
                                           ((3,), (0,))])
def test_repeat_matches_torch(backend, shape, repeats):
    ours, theirs = _pair(_data(*shape))
    _compare(ours.repeat(*repeats), theirs.repeat(*repeats), [ours], [theirs])
    assert ours.repeat(repeats).shape == tuple(theirs.repeat(repeats).shape)


def test_expand_and_repeat_gradients_by_finite_differences():
    array = np.random.default_rng(5).standard_normal((2, 1, 3))
    check_gradients(lambda x: x.expand(4, 2, 5, 3), array)
    check_gradients(lambda x: x.repeat(2, 3, 1, 2), array)


def test_repeat_rejects_too_few_repeats():
    with pytest.raises(ValueError, match="at least"):
        cunn.zeros(2, 3).repeat(2)


# ---- topk, comparisons, where, view_as ----

@pytest.mark.parametrize("k,dim,largest", [(3, -1, True), (1, 0, True), (2, 1, False),
                                           (5, -1, False), (0, 1, True)])
def test_topk_matches_torch(backend, k, dim, largest):
    # distinct values, so the order of ties (unspecified in PyTorch) does not matter
    array = np.random.default_rng(6).permutation(60).reshape(3, 4, 5).astype(np.float32)
    ours, theirs = _pair(array)
    values, indices = ours.topk(k, dim=dim, largest=largest)
    expected = theirs.topk(k, dim=dim, largest=largest)
    np.testing.assert_array_equal(indices.numpy(), expected.indices.numpy())
    assert indices.dtype == cunn.int64
    _compare(values, expected.values, [ours], [theirs])
    named = cunn.topk(cunn.tensor(array), k, dim, largest)
    np.testing.assert_array_equal(named.values.numpy(), expected.values.detach().numpy())


def test_topk_treats_nan_as_largest_and_checks_k():
    x = cunn.tensor([1.0, float("nan"), 3.0])
    assert x.topk(2).indices.tolist() == torch.tensor([1.0, float("nan"), 3.0]).topk(2).indices.tolist()
    with pytest.raises(ValueError, match="k"):
        x.topk(4)
    assert cunn.tensor(2.0).topk(1).values.item() == 2.0
    with pytest.raises(TypeError, match="k must be an int"):
        x.topk(1.5)


def test_topk_gradient_by_finite_differences():
    array = np.random.default_rng(7).permutation(24).reshape(4, 6) / 7.0
    check_gradients(lambda x: x.topk(3, dim=1).values, array)


@pytest.mark.parametrize("name", ["eq", "ne", "gt", "lt", "ge", "le"])
def test_comparisons_match_torch(name):
    a, b = np.array([[1.0, 2.0, 3.0]], np.float32), np.array([[2.0], [1.0]], np.float32)
    ours = getattr(cunn.tensor(a), name)(cunn.tensor(b))
    theirs = getattr(torch.tensor(a), name)(torch.tensor(b))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.dtype == cunn.bool and not ours.requires_grad
    np.testing.assert_array_equal(getattr(cunn, name)(cunn.tensor(a), 2.0).numpy(),
                                  getattr(torch, name)(torch.tensor(a), 2.0).numpy())


def test_view_as_matches_torch():
    ours, theirs = _pair(_data(2, 6))
    _compare(ours.view_as(cunn.zeros(3, 4)), theirs.view_as(torch.zeros(3, 4)), [ours], [theirs])


def test_where_matches_torch(backend):
    a, b = _data(3, 4, seed=8), _data(1, 4, seed=9)
    condition = a > 0
    ours_a, theirs_a = _pair(a)
    ours_b, theirs_b = _pair(b)
    _compare(cunn.where(cunn.tensor(condition), ours_a, ours_b),
             torch.where(torch.tensor(condition), theirs_a, theirs_b),
             [ours_a, ours_b], [theirs_a, theirs_b])
    method = cunn.tensor(a).where(cunn.tensor(condition), 0.0)
    np.testing.assert_array_equal(method.numpy(),
                                  torch.tensor(a).where(torch.tensor(condition), 0.0).numpy())
    indices = cunn.where(cunn.tensor(condition))
    for mine, reference in zip(indices, torch.where(torch.tensor(condition))):
        np.testing.assert_array_equal(mine.numpy(), reference.numpy())


def test_where_gradient_and_errors():
    rng = np.random.default_rng(10)
    condition = cunn.tensor(rng.random((3, 4)) > 0.5)
    check_gradients(lambda x, y: cunn.where(condition, x, y), rng.standard_normal((3, 4)),
                    rng.standard_normal((3, 1)))
    with pytest.raises(TypeError, match="bool"):
        cunn.where(cunn.tensor([1, 0]), cunn.zeros(2), cunn.ones(2))
    with pytest.raises(ValueError, match="broadcast"):
        cunn.where(cunn.tensor([True, False]), cunn.zeros(3), cunn.ones(2))


# ---- factories ----

def test_eye_linspace_and_is_tensor_match_torch():
    np.testing.assert_array_equal(cunn.eye(3).numpy(), torch.eye(3).numpy())
    np.testing.assert_array_equal(cunn.eye(2, 4).numpy(), torch.eye(2, 4).numpy())
    assert cunn.eye(3, dtype=cunn.long).dtype == cunn.int64
    for start, end, steps in [(0, 1, 5), (-2.5, 7, 11), (3, 3, 1), (0, 10, 0), (1, -1, 4)]:
        np.testing.assert_allclose(cunn.linspace(start, end, steps).numpy(),
                                   torch.linspace(start, end, steps).numpy(), rtol=1e-6,
                                   atol=1e-6)
        assert cunn.linspace(start, end, steps).dtype == cunn.float32
    assert cunn.is_tensor(cunn.zeros(1)) and not cunn.is_tensor(np.zeros(1))
    assert cunn.is_tensor(cunn.nn.Parameter(cunn.zeros(1)))
    with pytest.raises(ValueError, match="linspace"):
        cunn.linspace(0, 1, -1)


def test_randperm_is_a_seeded_permutation():
    cunn.manual_seed(0)
    first = cunn.randperm(50)
    cunn.manual_seed(0)
    assert first.dtype == cunn.int64 and sorted(first.tolist()) == list(range(50))
    assert cunn.randperm(50).tolist() == first.tolist()
    assert cunn.randperm(0).shape == (0,)
    assert sorted(torch.randperm(50).tolist()) == sorted(first.tolist())


def test_generator_is_a_separate_reproducible_stream():
    generator = cunn.Generator().manual_seed(42)
    assert isinstance(generator, cunn.Generator) and generator.initial_seed() == 42
    draws = [cunn.rand(4, generator=generator), cunn.randn(3, generator=generator),
             cunn.randint(0, 10, (5,), generator=generator),
             cunn.randperm(9, generator=generator)]
    cunn.manual_seed(0)
    shared = cunn.rand(4)
    generator.manual_seed(42)
    cunn.manual_seed(1)  # the shared stream does not touch the generator's
    again = [cunn.rand(4, generator=generator), cunn.randn(3, generator=generator),
             cunn.randint(0, 10, (5,), generator=generator),
             cunn.randperm(9, generator=generator)]
    for first, second in zip(draws, again):
        np.testing.assert_array_equal(first.numpy(), second.numpy())
    cunn.manual_seed(0)
    np.testing.assert_array_equal(cunn.rand(4).numpy(), shared.numpy())
    state = generator.get_state()
    following = cunn.rand(3, generator=generator).numpy()
    generator.set_state(state)
    np.testing.assert_array_equal(cunn.rand(3, generator=generator).numpy(), following)
    with pytest.raises(TypeError, match="generator"):
        cunn.rand(2, generator=np.random.default_rng(0))
    assert torch.Generator().manual_seed(42).initial_seed() == 42  # the same API


# ---- grad mode ----

def test_inference_mode_enable_grad_and_set_grad_enabled():
    x = cunn.ones(2, requires_grad=True)
    with cunn.inference_mode():
        assert cunn.is_inference_mode_enabled() and not cunn.is_grad_enabled()
        assert not (x * 2).requires_grad
        with cunn.enable_grad():
            assert (x * 2).requires_grad
    assert not cunn.is_inference_mode_enabled() and (x * 2).requires_grad
    with cunn.inference_mode(False):
        assert (x * 2).requires_grad

    @cunn.inference_mode()
    def called():
        return x * 2

    @cunn.inference_mode
    def bare():
        return x * 2

    @cunn.no_grad
    def bare_no_grad():
        return x * 2

    assert not called().requires_grad and not bare().requires_grad
    assert not bare_no_grad().requires_grad
    with cunn.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    cunn.set_grad_enabled(False)
    assert not cunn.is_grad_enabled()
    cunn.set_grad_enabled(True)
    assert cunn.is_grad_enabled()
    with torch.inference_mode():  # the oracle agrees on what a result under it is
        assert not (torch.ones(2, requires_grad=True) * 2).requires_grad
    with pytest.raises(TypeError, match="mode must be a bool"):
        cunn.inference_mode("yes")


# ---- axis= ----

def test_axis_is_an_alias_of_dim_everywhere():
    array = _data(3, 4, 5, seed=11)
    x, reference = cunn.tensor(array), torch.tensor(array)
    for name in ("sum", "mean", "norm", "std", "var", "argmax", "argmin", "softmax",
                 "log_softmax"):
        ours = getattr(x, name)(axis=1)
        np.testing.assert_allclose(np.asarray(ours.numpy()),
                                   getattr(reference, name)(dim=1).numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=name)
        np.testing.assert_allclose(getattr(cunn, name)(x, axis=1).numpy(), ours.numpy(),
                                   err_msg=name)
    assert x.max(axis=2).values.shape == (3, 4) and cunn.min(x, axis=0).indices.shape == (4, 5)
    assert x.topk(2, axis=0).values.shape == (2, 4, 5)
    assert x.size(axis=1) == 4
    assert x.unsqueeze(axis=0).shape == (1, 3, 4, 5) and cunn.unsqueeze(x, axis=3).shape[3] == 1
    assert cunn.cat([x, x], axis=1).shape == (3, 8, 5) and cunn.stack([x, x], axis=0).shape[0] == 2
    assert cunn.nn.functional.softmax(x, axis=-1).shape == x.shape
    with pytest.raises(TypeError, match="both dim and axis"):
        x.sum(dim=0, axis=1)
