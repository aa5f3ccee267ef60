"""DistributedSampler: PyTorch's exact indices, shards that cover the dataset, equal lengths."""
import pytest

from cunn.data import DistributedSampler

CASES = [(count, replicas) for count in (1, 7, 10, 11, 100, 1001) for replicas in (1, 2, 3, 4)]


@pytest.mark.parametrize("count,replicas", CASES)
@pytest.mark.parametrize("drop_last", [False, True])
def test_shards_cover_the_dataset_with_equal_lengths(count, replicas, drop_last):
    shards = []
    for rank in range(replicas):
        sampler = DistributedSampler(range(count), replicas, rank, seed=3, drop_last=drop_last)
        sampler.set_epoch(2)
        shards.append(list(sampler))
        assert len(shards[-1]) == len(sampler)
    assert len({len(shard) for shard in shards}) == 1
    seen = [index for shard in shards for index in shard]
    if drop_last:
        assert len(set(seen)) == len(seen) == count - count % replicas
    else:
        assert set(seen) == set(range(count))
        assert len(seen) == -(-count // replicas) * replicas


def test_epochs_reshuffle_the_same_way_on_every_rank():
    first = [list(DistributedSampler(range(50), 2, rank)) for rank in range(2)]
    again = [list(DistributedSampler(range(50), 2, rank)) for rank in range(2)]
    assert first == again
    moved = DistributedSampler(range(50), 2, 0)
    moved.set_epoch(1)
    assert list(moved) != first[0]
    assert list(DistributedSampler(range(50), 2, 0, shuffle=False)) == list(range(0, 50, 2))


@pytest.mark.parametrize("count", [1, 10, 11, 60000])
@pytest.mark.parametrize("replicas", [1, 2, 3])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("drop_last", [False, True])
def test_indices_are_pytorchs(count, replicas, shuffle, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DistributedSampler as TorchSampler
    for epoch in (0, 5):
        for rank in range(replicas):
            ours = DistributedSampler(range(count), replicas, rank, shuffle=shuffle, seed=11,
                                      drop_last=drop_last)
            theirs = TorchSampler(range(count), replicas, rank, shuffle=shuffle, seed=11,
                                  drop_last=drop_last)
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert list(ours) == list(theirs)
            assert len(ours) == len(theirs)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="rank must be in"):
        DistributedSampler(range(4), 2, 2)
    with pytest.raises(ValueError, match="num_replicas"):
        DistributedSampler(range(4), 0, 0)
    with pytest.raises(TypeError, match="dataset must define __len__"):
        DistributedSampler(object(), 1, 0)
