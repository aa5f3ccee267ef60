"""The CUDA layer bindings refuse arguments that would make a kernel read or write outside its
buffers, before anything reaches the device: these run on any CUDA build, GPU or not.
Pointers here are fake aligned addresses that are never dereferenced."""
import pytest

from cunn import _C

ADDRESS = 256  # aligned, never used: every call below fails its checks first


@pytest.fixture
def cuda_bindings():
    if not _C.cuda_built():
        pytest.skip("cunn was built without CUDA (build with -Ccmake.define.CUNN_CUDA=ON)")
    return _C.cuda


def _conv_args(out=ADDRESS, n=1, c=1, h=5, w=5, o=1, k=3, stride=1, pad=0):
    return (out, ADDRESS, ADDRESS, 0, n, c, h, w, o, k, k, stride, stride, pad, pad)


@pytest.mark.parametrize("args, message", [
    (_conv_args(h=2, w=2, k=5), "larger than the padded input"),
    (_conv_args(out=0), "out_ptr must be a device pointer"),
    (_conv_args(out=ADDRESS + 2), "out_ptr must be aligned"),
    (_conv_args(n=-1), "n must be >= 0"),
    (_conv_args(stride=0), "stride_h must be >= 1"),
    (_conv_args(n=2 ** 40, c=2 ** 20, h=2 ** 20), "does not fit in int64"),
])
def test_conv2d_refuses_bad_arguments(cuda_bindings, args, message):
    with pytest.raises(ValueError, match=message):
        cuda_bindings.conv2d_forward(*args)


def test_pooling_checks_the_output_size_and_padding(cuda_bindings):
    with pytest.raises(ValueError, match=r"oh, ow must be \(4, 4\)"):
        cuda_bindings.max_pool2d_forward(ADDRESS, ADDRESS, ADDRESS, 1, 5, 5, 3, 3, 2, 2, 1, 1, 0,
                                         0)
    with pytest.raises(ValueError, match="at most half the kernel"):
        cuda_bindings.avg_pool2d_forward(ADDRESS, ADDRESS, 1, 5, 5, 3, 3, 3, 3, 2, 2, 2, 2, True)
    with pytest.raises(ValueError, match="h must be >= 1"):
        cuda_bindings.adaptive_avg_pool2d_forward(ADDRESS, ADDRESS, 1, 0, 5, 3, 3)


def test_dropout_refuses_bad_arguments(cuda_bindings):
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        cuda_bindings.dropout_mask(ADDRESS, 10, 1.5, 0, 0)
    with pytest.raises(ValueError, match="offset must be >= 0"):
        cuda_bindings.dropout_mask(ADDRESS, 10, 0.5, 0, -1)
    with pytest.raises(ValueError, match="mask_ptr must be a device pointer"):
        cuda_bindings.dropout2d_forward(ADDRESS, ADDRESS, 0, 3, 4, 2.0)


def test_optimizers_need_the_state_their_options_use(cuda_bindings):
    with pytest.raises(ValueError, match="momentum_buffer_ptr"):
        cuda_bindings.sgd_step(ADDRESS, ADDRESS, 0, 10, 0.1, 0.9, 0.0, 0.0, False, True)
    with pytest.raises(ValueError, match="grad_avg_ptr"):
        cuda_bindings.rmsprop_step(ADDRESS, ADDRESS, ADDRESS, 0, 0, 10, 0.1, 0.99, 1e-8, 0.0, 0.0,
                                   True)
    with pytest.raises(ValueError, match="step must be >= 1"):
        cuda_bindings.adam_step(ADDRESS, ADDRESS, ADDRESS, ADDRESS, 0, 10, 0.1, 0.9, 0.999, 1e-8,
                                0.0, 0, False)


def test_normalization_and_embedding_refuse_bad_arguments(cuda_bindings):
    with pytest.raises(ValueError, match="var_ptr must be a device pointer"):
        cuda_bindings.batch_norm_statistics(ADDRESS, 0, ADDRESS, 2, 3, 4)
    with pytest.raises(ValueError, match="both 0 or both"):
        cuda_bindings.layer_norm_backward(ADDRESS, ADDRESS, 0, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                                          0, 2, 3)
    with pytest.raises(ValueError, match="error_ptr must be a device pointer"):
        cuda_bindings.embedding_forward(ADDRESS, 0, ADDRESS, ADDRESS, 2, 3, 4)
    with pytest.raises(ValueError, match="padding_idx must be < num_embeddings"):
        cuda_bindings.embedding_backward(ADDRESS, ADDRESS, ADDRESS, 2, 3, 4, 3)
