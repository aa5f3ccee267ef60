"""Datasets and loading: Dataset, TensorDataset, DataLoader, random_split, MNIST.

Also importable as ``cunn.utils.data`` (PyTorch's spelling). ``cunn.data.mnist.load`` reads
MNIST as NumPy arrays; ``cunn.data.transforms`` holds ToTensor, Normalize, Flatten, Compose.
"""
from cunn.data import mnist, transforms  # noqa: F401
from cunn.data.collate import default_collate
from cunn.data.dataloader import DataLoader
from cunn.data.distributed_sampler import DistributedSampler
from cunn.data.dataset import Dataset, Subset, TensorDataset, random_split
from cunn.data.idx import DatasetError, read_idx, write_idx
from cunn.data.mnist import MNIST
from cunn.data._worker import get_worker_info
from cunn.data.sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                               SubsetRandomSampler)

__all__ = ["DataLoader", "Dataset", "DatasetError", "DistributedSampler", "MNIST", "Subset",
           "TensorDataset", "default_collate", "get_worker_info", "mnist", "random_split",
           "read_idx", "transforms", "write_idx", "BatchSampler", "RandomSampler", "Sampler",
           "SequentialSampler", "SubsetRandomSampler"]
