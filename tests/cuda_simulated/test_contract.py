"""The cuda backend provides every kernel of the contract, with its signatures."""
import cunn._backends.cuda as cuda_backend
from cunn._backends.interface import ALL_KERNELS, missing_kernels

from kernels.test_contract import contract_signature, implemented_signature


def test_cuda_backend_implements_every_kernel():
    assert cuda_backend.NAME == "cuda"
    assert missing_kernels(cuda_backend) == []


def test_cuda_kernels_have_the_contract_signatures():
    differ = {name: (implemented_signature(getattr(cuda_backend, name)), contract_signature(name))
              for name in ALL_KERNELS
              if implemented_signature(getattr(cuda_backend, name)) != contract_signature(name)}
    assert differ == {}
