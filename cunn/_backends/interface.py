"""The kernel contract: every backend implements each function listed here.

Arrays in, arrays out (NumPy arrays; float32 unless stated, labels and indices
int64, dropout masks bool/uint8). Inputs may have any strides; a backend copies
an input to a contiguous array if it needs one. Outputs are new C-contiguous
arrays, except the in-place optimizer steps (names ending in ``_``), which update
their float32 C-contiguous arguments and refuse anything else.

The NumPy reference (``numpy_ref``) also computes in float64 when every floating
input is float64, so gradients can be checked by finite differences; the compiled
backend accepts float32 only and raises ``TypeError`` otherwise.

Reductions for losses: ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"``; mean and
sum give a 0-d array.

Signatures (the stem before ``_forward``/``_backward`` names the kernel family,
and the file that holds it in every backend):

gemm
    gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None)
        alpha * op(a) @ op(b) + beta * out; a, b 2-D. ``out`` (M, N), if given, is
        updated in place and returned; beta is ignored without it.
    linear_forward(x, weight, bias)          x (N, in), weight (out, in), bias (out,) or None
                                             -> x @ weight.T + bias, (N, out)
    linear_backward(grad_output, x, weight, need_x, need_weight, need_bias)
        -> (grad_x (N, in) = grad_output @ weight, grad_weight (out, in) = grad_output.T @ x,
            grad_bias (out,) = bias_grad(grad_output, 1)), each None unless its need_ is true
    bias_grad(grad_output, axis)             sum of grad_output over every axis but ``axis``
                                             -> (grad_output.shape[axis],)
linear_chain (a run of Linear layers, each optionally followed by ReLU: h_i = h_{i-1} @
              weights[i].T + biases[i], then relu where relus[i]; h_{-1} = x)
    linear_chain_forward(x, weights, biases, relus)    -> (output, outputs): every h_i, and
                                                          the last; biases entries may be None
    linear_chain_backward(grad_output, x, outputs, weights, relus, need_x, need_weights,
                          need_biases)
        -> (grad_x or None, [grad_weight or None], [grad_bias or None]); the ReLU masks come
           from outputs (relu(z) > 0 exactly where z > 0)
elementwise (NumPy broadcasting; result has the broadcast shape)
    add(a, b)  sub(a, b)  mul(a, b)  div(a, b)
activation
    relu_forward(x)                          relu_backward(grad_output, x)
    leaky_relu_forward(x, negative_slope)    leaky_relu_backward(grad_output, x, negative_slope)
    sigmoid_forward(x)                       sigmoid_backward(grad_output, output)
    tanh_forward(x)                          tanh_backward(grad_output, output)
softmax (along ``dim``, max-subtracted)
    softmax_forward(x, dim)                  softmax_backward(grad_output, output, dim)
    log_softmax_forward(x, dim)              log_softmax_backward(grad_output, output, dim)
reduce
    sum(x, dims=None, keepdim=False)         dims: tuple of axes, None = all
    max(x, dim, keepdim=False)               -> (values, indices int64); first index on ties;
                                                NaN wins (propagates) as in PyTorch
loss (logits/log_probs (N, C), labels int64 (N,) in [0, C) or == ignore_index; others:
      input and target of one shape)
    cross_entropy_forward(logits, labels, reduction, weight=None, ignore_index=-100,
                          label_smoothing=0.0)                     -> (loss, log_probs)
        labels may instead be float (N, C) class probabilities; weight: None or (C,)
    cross_entropy_backward(grad_output, log_probs, labels, reduction, weight=None,
                           ignore_index=-100, label_smoothing=0.0) -> grad_logits
    nll_loss_forward(log_probs, labels, reduction, weight=None, ignore_index=-100) -> loss
    nll_loss_backward(grad_output, labels, num_classes, reduction, weight=None,
                      ignore_index=-100)                           -> grad_log_probs
        (with weights, mean divides by the summed weights of the labels not ignored)
    mse_loss_forward(input, target, reduction)
    mse_loss_backward(grad_output, input, target, reduction)        -> grad_input
    l1_loss_forward(input, target, reduction)
    l1_loss_backward(grad_output, input, target, reduction)         -> grad_input
    smooth_l1_loss_forward(input, target, reduction, beta=1.0)      (beta > 0)
    smooth_l1_loss_backward(grad_output, input, target, reduction, beta=1.0)
    huber_loss_forward(input, target, reduction, delta=1.0)
    huber_loss_backward(grad_output, input, target, reduction, delta=1.0)
    kl_div_forward(input, target, reduction, log_target=False)      (input: log-probabilities)
    kl_div_backward(grad_output, input, target, reduction, log_target=False)
    binary_cross_entropy_forward(input, target, reduction, weight=None)
                                                                    (log clamped at -100)
    binary_cross_entropy_backward(grad_output, input, target, reduction, weight=None)
    binary_cross_entropy_with_logits_forward(input, target, reduction, weight=None,
                                             pos_weight=None)
    binary_cross_entropy_with_logits_backward(grad_output, input, target, reduction,
                                              weight=None, pos_weight=None)
        (weight and pos_weight: None or of the input's shape; cunn/ops broadcasts them)
    (grad_output is 0-d for mean/sum, the loss's shape for none; the target's gradient,
    where it exists, is composed from these in cunn/ops.)
conv2d (NCHW; stride and padding are (h, w) pairs)
    conv2d_forward(x, weight, bias, stride, padding)        weight (O, C, kh, kw), bias (O,)
                                                            or None -> (N, O, OH, OW)
    conv2d_backward_input(grad_output, weight, input_shape, stride, padding)
    conv2d_backward_weight(grad_output, x, weight_shape, stride, padding)
    (the bias gradient is bias_grad(grad_output, 1))
    conv2d_relu_pool_forward(x, weight, bias, stride, padding)
        -> (pooled, codes uint8): pooled = max_pool2d(relu(conv2d(...)), 2x2, stride 2), the
           convolution's output at least 2x2; codes[n, o, i, j] = the window position of the
           maximum (0 top left, 1 top right, 2 bottom left, 3 bottom right) where the
           convolution's value there is > 0, else 4 (no gradient passes the ReLU); the
           cuda backend keeps its own record instead (the convolution's output and the
           pool's indices), which only its backward reads
    conv2d_relu_pool_backward(grad_output, codes, x, weight, stride, padding, need_x,
                              need_weight, need_bias)
        -> (grad_x, grad_weight, grad_bias), each None unless its need_ is true: the
           conv2d gradients (and bias_grad) of the convolution's output gradient, which is
           grad_output at each code's position and 0 elsewhere
pool
    max_pool2d_forward(x, kernel_size, stride, padding)     -> (output, indices int64), the
                                                            index of each maximum in its input
                                                            plane (h * W + w), as PyTorch;
                                                            padding counts as -inf
    max_pool2d_backward(grad_output, indices, input_shape)
dropout (the mask is drawn in cunn/random.py so every backend sees the same numbers)
    dropout_forward(x, mask, scale)          x * mask * scale
    dropout_backward(grad_output, mask, scale)
    dropout2d_forward(x, mask, scale)        x (N, C, *), mask (N, C): one entry per channel
    dropout2d_backward(grad_output, mask, scale)
optim (in place, over lists of parameters in one call; PyTorch's formulas exactly)
    sgd_step_(params, grads, momentum_buffers, lr, momentum, dampening, weight_decay,
              nesterov, first_step)
        momentum_buffers is [] when momentum == 0; with first_step the buffers are set
        to the (decayed) gradient, undamped, as PyTorch does when it creates them.
    adam_step_(params, grads, exp_avgs, exp_avg_sqs, lr, beta1, beta2, eps, weight_decay,
               step, decoupled_weight_decay, max_exp_avg_sqs=())
        step counts from 1; decoupled_weight_decay=True is AdamW; a non-empty
        max_exp_avg_sqs (one per parameter) turns amsgrad on.
    rmsprop_step_(params, grads, square_avgs, momentum_buffers, grad_avgs, lr, alpha, eps,
                  weight_decay, momentum, centered)
        momentum_buffers is [] when momentum == 0, grad_avgs is [] unless centered.
    adadelta_step_(params, grads, square_avgs, acc_deltas, lr, rho, eps, weight_decay)
    adagrad_step_(params, grads, state_sums, lr, lr_decay, weight_decay, eps, step)
        step counts from 1 (the lr decays as lr / (1 + (step - 1) * lr_decay)).
normalization (batch norm over x (N, C, *), statistics per channel C; layer norm over x's
               trailing normalized_shape, statistics per row; weight / bias None or shaped
               like the statistics' complement; formulas in csrc/kernels/normalization.h)
    batch_norm_statistics(x)                 -> (mean, biased var), each (C,)
    batch_norm_forward(x, mean, var, weight, bias, eps)
        -> (output, invstd (C,)): (x - mean) * invstd * weight + bias, invstd = 1/sqrt(var + eps)
    batch_norm_backward(grad_output, x, mean, invstd, weight, batch_statistics)
        -> (grad_x, grad_weight (C,), grad_bias (C,)); batch_statistics: mean and invstd came
           from x itself (training), so grad_x has the terms through them
    layer_norm_forward(x, normalized_shape, weight, bias, eps) -> (output, mean, invstd), the
        statistics (rows,) with rows = x.size / prod(normalized_shape)
    layer_norm_backward(grad_output, x, mean, invstd, weight, normalized_shape)
        -> (grad_x, grad_weight, grad_bias), the last two of normalized_shape
avg_pool (NCHW; (h, w) pairs; padding at most half the kernel)
    avg_pool2d_forward(x, kernel_size, stride, padding, count_include_pad=True)
    avg_pool2d_backward(grad_output, input_shape, kernel_size, stride, padding,
                        count_include_pad=True)
    adaptive_avg_pool2d_forward(x, output_size)   windows [floor(i*H/OH), ceil((i+1)*H/OH))
    adaptive_avg_pool2d_backward(grad_output, input_shape)
smooth_activation (gradients from the forward's input x)
    gelu_forward(x, approximate="none")      gelu_backward(grad_output, x, approximate="none")
        approximate is "none" (the exact erf form) or "tanh"
    elu_forward(x, alpha)                    elu_backward(grad_output, x, alpha)
    silu_forward(x)                          silu_backward(grad_output, x)
    softplus_forward(x, beta, threshold)     softplus_backward(grad_output, x, beta, threshold)
embedding (weight (V, D), indices int64 of any shape; a bad index raises IndexError)
    embedding_forward(weight, indices)       -> indices.shape + (D,)
    embedding_backward(grad_output, indices, num_embeddings, padding_idx=-1)
        -> (V, D): repeated indices add up in index order; row padding_idx (>= 0) stays zero
image_batch (the data loader's fused gather + ToTensor + Normalize)
    normalize_images(images, indices, mean, std)
        images uint8 C-contiguous (N, ...) (refused otherwise, never copied), indices
        int64 1-D in [0, N), mean/std numbers with float32(std) != 0 -> float32
        (len(indices), *images.shape[1:]) = ((float32)images[indices] / 255 - mean) / std,
        those float32 operations in that order (bit-identical to cunn.data.transforms).
runtime
    set_num_threads(threads)  get_num_threads()
"""

KERNELS = {
    "gemm": ("gemm", "linear_forward", "linear_backward", "bias_grad"),
    "linear_chain": ("linear_chain_forward", "linear_chain_backward"),
    "elementwise": ("add", "sub", "mul", "div"),
    "activation": (
        "relu_forward", "relu_backward",
        "leaky_relu_forward", "leaky_relu_backward",
        "sigmoid_forward", "sigmoid_backward",
        "tanh_forward", "tanh_backward",
    ),
    "softmax": (
        "softmax_forward", "softmax_backward",
        "log_softmax_forward", "log_softmax_backward",
    ),
    "reduce": ("sum", "max"),
    "loss": (
        "cross_entropy_forward", "cross_entropy_backward",
        "nll_loss_forward", "nll_loss_backward",
        "mse_loss_forward", "mse_loss_backward",
        "l1_loss_forward", "l1_loss_backward",
        "binary_cross_entropy_forward", "binary_cross_entropy_backward",
        "binary_cross_entropy_with_logits_forward", "binary_cross_entropy_with_logits_backward",
        "smooth_l1_loss_forward", "smooth_l1_loss_backward",
        "huber_loss_forward", "huber_loss_backward",
        "kl_div_forward", "kl_div_backward",
    ),
    "conv2d": ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
               "conv2d_relu_pool_forward", "conv2d_relu_pool_backward"),
    "pool": ("max_pool2d_forward", "max_pool2d_backward"),
    "dropout": ("dropout_forward", "dropout_backward",
                "dropout2d_forward", "dropout2d_backward"),
    "optim": ("sgd_step_", "adam_step_", "rmsprop_step_", "adadelta_step_", "adagrad_step_"),
    "image_batch": ("normalize_images",),
    "runtime": ("set_num_threads", "get_num_threads"),
    "normalization": (
        "batch_norm_statistics", "batch_norm_forward", "batch_norm_backward",
        "layer_norm_forward", "layer_norm_backward",
    ),
    "avg_pool": (
        "avg_pool2d_forward", "avg_pool2d_backward",
        "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward",
    ),
    "smooth_activation": (
        "gelu_forward", "gelu_backward", "elu_forward", "elu_backward",
        "silu_forward", "silu_backward", "softplus_forward", "softplus_backward",
    ),
    "embedding": ("embedding_forward", "embedding_backward"),
}

ALL_KERNELS = tuple(name for family in KERNELS.values() for name in family)


def missing_kernels(backend):
    """Names from the contract that ``backend`` (a module or object) does not provide."""
    return [name for name in ALL_KERNELS if not callable(getattr(backend, name, None))]
