// A chain of fully connected layers, each optionally followed by ReLU (what an
// nn.Sequential of Linear and ReLU computes), run as one op, row-major float32:
//   z_i = h_{i-1} @ weight_i.T + bias_i,  h_i = relu_i ? relu(z_i) : z_i,  h_{-1} = x.
// The forward writes every h_i: the backward needs each layer's input, and after a ReLU
// its mask, which h_i gives exactly (relu(z) > 0 where z > 0, and nowhere else).
// Each step is the single-layer kernel (linear.h, activation.h), so the chain computes
// bit for bit what the layers compute one by one. Must match
// cunn/_backends/numpy_ref/linear_chain.py.
#pragma once

#include <cstdint>
#include <vector>

namespace cunn::kernels {

struct ChainLayer {
  const float* weight;  // (out_features, in_features)
  const float* bias;    // (out_features,) or null
  int64_t in_features, out_features;
  bool relu;
};

// outputs[i]: (batch, layers[i].out_features), h_i.
void linear_chain_forward(const float* x, int64_t batch, const std::vector<ChainLayer>& layers,
                          const std::vector<float*>& outputs);

// From grad_output (batch, out_features of the last layer): grad_x (null: not wanted) and,
// per layer, grad_weights[i] / grad_biases[i] (null entries: not wanted).
void linear_chain_backward(const float* grad_output, const float* x, int64_t batch,
                           const std::vector<ChainLayer>& layers,
                           const std::vector<const float*>& outputs, float* grad_x,
                           const std::vector<float*>& grad_weights,
                           const std::vector<float*>& grad_biases);

}  // namespace cunn::kernels
