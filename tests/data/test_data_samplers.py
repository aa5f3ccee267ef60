"""DataLoader's PyTorch options sampler / batch_sampler / generator, the samplers, and
random_split(generator=); the option rules and lengths checked against torch when present."""
import numpy as np
import pytest

import cunn
from cunn.data import (BatchSampler, DataLoader, RandomSampler, SequentialSampler,
                       SubsetRandomSampler, TensorDataset, random_split)


def _dataset(count=10):
    return TensorDataset(np.arange(count, dtype=np.float32).reshape(count, 1),
                         np.arange(count))


def _labels(loader):
    return [batch[1].tolist() for batch in loader]


def test_sampler_sets_the_order_and_the_length():
    loader = DataLoader(_dataset(), batch_size=3, sampler=[9, 0, 4, 4, 7])
    assert _labels(loader) == [[9, 0, 4], [4, 7]] and len(loader) == 2
    loader = DataLoader(_dataset(), batch_size=2, sampler=SequentialSampler(range(5)),
                        drop_last=True)
    assert _labels(loader) == [[0, 1], [2, 3]] and len(loader) == 2


def test_batch_sampler_gives_each_batch():
    loader = DataLoader(_dataset(), batch_sampler=[[1, 2], [8], [0, 3, 5]])
    assert _labels(loader) == [[1, 2], [8], [0, 3, 5]] and len(loader) == 3
    batches = BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=False)
    assert list(batches) == [[0, 1, 2], [3, 4, 5], [6]] and len(batches) == 3
    dropped = BatchSampler(range(7), 3, True)
    assert list(dropped) == [[0, 1, 2], [3, 4, 5]] and len(dropped) == 2
    assert _labels(DataLoader(_dataset(), batch_sampler=dropped)) == [[0, 1, 2], [3, 4, 5]]


def test_option_rules_are_pytorchs():
    torch = pytest.importorskip("torch")
    cases = [dict(shuffle=True, sampler=[0, 1]), dict(batch_size=4, batch_sampler=[[0]]),
             dict(drop_last=True, batch_sampler=[[0]]), dict(sampler=[0], batch_sampler=[[0]])]
    for options in cases:
        with pytest.raises(ValueError, match="mutually exclusive"):
            DataLoader(_dataset(), **options)
        with pytest.raises(ValueError, match="mutually exclusive"):
            torch.utils.data.DataLoader(list(range(10)), **options)


def test_generator_makes_shuffling_reproducible_and_independent():
    first = _labels(DataLoader(_dataset(), batch_size=4, shuffle=True,
                               generator=cunn.Generator().manual_seed(3)))
    cunn.manual_seed(99)  # the shared stream does not matter
    second = _labels(DataLoader(_dataset(), batch_size=4, shuffle=True,
                                generator=cunn.Generator().manual_seed(3)))
    assert first == second and sorted(sum(first, [])) == list(range(10))
    loader = DataLoader(_dataset(), batch_size=10, shuffle=True,
                        generator=cunn.Generator().manual_seed(3))
    assert _labels(loader) != _labels(loader)  # a new order every epoch
    with pytest.raises(TypeError, match="generator"):
        DataLoader(_dataset(), shuffle=True, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match="either seed or generator"):
        DataLoader(_dataset(), shuffle=True, seed=1, generator=cunn.Generator())


def test_random_samplers():
    generator = cunn.Generator().manual_seed(0)
    order = list(RandomSampler(range(8), generator=generator))
    assert sorted(order) == list(range(8))
    assert list(RandomSampler(range(8), generator=cunn.Generator().manual_seed(0))) == order
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=20))
    assert len(drawn) == 20 and set(drawn) <= {0, 1, 2}
    longer = RandomSampler(range(3), num_samples=7)
    assert len(list(longer)) == len(longer) == 7
    subset = SubsetRandomSampler([5, 6, 7, 9])
    assert sorted(subset) == [5, 6, 7, 9] and len(subset) == 4
    loader = DataLoader(_dataset(), batch_size=2, sampler=subset)
    assert sorted(sum(_labels(loader), [])) == [5, 6, 7, 9]
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(range(3), 0, False)


def test_random_split_takes_a_generator():
    dataset = _dataset(20)
    first = random_split(dataset, [15, 5], generator=cunn.Generator().manual_seed(1))
    positional = random_split(dataset, [15, 5], cunn.Generator().manual_seed(1))
    assert [list(part.indices) for part in first] == [list(part.indices) for part in positional]
    assert sorted(list(first[0].indices) + list(first[1].indices)) == list(range(20))
    with pytest.raises(ValueError, match="either seed or generator"):
        random_split(dataset, [10, 10], seed=1, generator=cunn.Generator())
