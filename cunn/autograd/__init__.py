"""Reverse-mode autograd: grad mode switches, the graph node base class, the engine."""
from cunn.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from cunn.autograd.grad_mode import inference_mode, is_inference_mode_enabled
from cunn.autograd.function import Function
from cunn.autograd.engine import backward

__all__ = ["Function", "backward", "enable_grad", "is_grad_enabled", "no_grad",
           "set_grad_enabled", "inference_mode", "is_inference_mode_enabled"]
