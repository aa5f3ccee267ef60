// Linear + ReLU chains (contract in linear_chain.h): the single-layer kernels, in order,
// in one call, so a whole MLP costs one crossing from Python each way.
#include "kernels/linear_chain.h"

#include <memory>

#include "kernels/activation.h"
#include "kernels/linear.h"

namespace cunn::kernels {

void linear_chain_forward(const float* x, int64_t batch, const std::vector<ChainLayer>& layers,
                          const std::vector<float*>& outputs) {
  const float* input = x;
  for (size_t i = 0; i < layers.size(); ++i) {
    const ChainLayer& layer = layers[i];
    linear_forward(input, layer.weight, layer.bias, outputs[i], batch, layer.in_features,
                   layer.out_features, layer.relu);
    input = outputs[i];
  }
}

void linear_chain_backward(const float* grad_output, const float* x, int64_t batch,
                           const std::vector<ChainLayer>& layers,
                           const std::vector<const float*>& outputs, float* grad_x,
                           const std::vector<float*>& grad_weights,
                           const std::vector<float*>& grad_biases) {
  // grad holds dL/dh_i on the way down; masked, dL/dz_i after a ReLU.
  const float* grad = grad_output;
  std::unique_ptr<float[]> grad_storage, masked_storage;
  for (size_t step = layers.size(); step-- > 0;) {
    const ChainLayer& layer = layers[step];
    if (layer.relu) {
      const int64_t count = batch * layer.out_features;
      masked_storage.reset(new float[static_cast<size_t>(count)]);
      relu_backward(grad, outputs[step], masked_storage.get(), count);
      grad = masked_storage.get();
    }
    float* grad_input = grad_x;
    std::unique_ptr<float[]> next;
    if (step > 0) {
      next.reset(new float[static_cast<size_t>(batch * layer.in_features)]);
      grad_input = next.get();
    }
    linear_backward(grad, step > 0 ? outputs[step - 1] : x, layer.weight, grad_input,
                    grad_weights[step], grad_biases[step], batch, layer.in_features,
                    layer.out_features);
    grad_storage = std::move(next);  // the previous gradient is no longer read
    grad = grad_storage.get();
  }
}

}  // namespace cunn::kernels
