"""``microgradnn.utils.data``: PyTorch's import path, DataLoader arguments, Subset, random_split."""
from __future__ import annotations

import numpy as np
import pytest

import microgradnn as mg
from microgradnn.utils.data import DataLoader, Dataset, Subset, TensorDataset, random_split


def test_import_path_gives_the_same_objects():
    import microgradnn.utils.data as ud

    assert ud.DataLoader is mg.data.DataLoader and ud.TensorDataset is mg.data.TensorDataset
    assert mg.utils.data.Subset is Subset and ud.Dataset is Dataset


def values(loader):
    return [b[0].data.tolist() for b in loader]


def test_pytorch_arguments_are_accepted_with_their_meaning():
    ds = TensorDataset(np.arange(10))
    plain = values(DataLoader(ds, batch_size=3))
    same = DataLoader(ds, batch_size=3, num_workers=4, pin_memory=True, timeout=0,
                      worker_init_fn=lambda i: pytest.fail("no workers"), prefetch_factor=2,
                      persistent_workers=True, collate_fn=None, drop_last=False)
    assert values(same) == plain == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert values(DataLoader(ds, 3, False, None, None, 0, None, False, True)) == plain[:3]


def test_generator_drives_the_shuffle():
    ds = TensorDataset(np.arange(20))
    a = values(DataLoader(ds, batch_size=5, shuffle=True, generator=np.random.default_rng(7)))
    b = values(DataLoader(ds, batch_size=5, shuffle=True, generator=np.random.default_rng(7)))
    assert a == b and sorted(sum(a, [])) == list(range(20)) and sum(a, []) != list(range(20))


def test_collate_fn_and_samplers_as_in_pytorch():
    torch = pytest.importorskip("torch")
    from torch.utils import data as td

    x = np.arange(10)
    ours, theirs = TensorDataset(x), td.TensorDataset(torch.from_numpy(x))
    sampler = [9, 0, 4, 4, 7]
    batches = td.BatchSampler(td.SequentialSampler(range(10)), batch_size=4, drop_last=False)
    for kw in ({"sampler": sampler, "batch_size": 2}, {"sampler": sampler, "batch_size": 2,
                                                       "drop_last": True},
               {"batch_sampler": list(batches)}, {"batch_size": 4, "drop_last": True},
               {"batch_size": 3, "collate_fn": lambda s: len(s)}):
        mine = list(DataLoader(ours, **kw))
        other = list(td.DataLoader(theirs, **kw))
        assert len(mine) == len(other) == len(DataLoader(ours, **kw)) == len(td.DataLoader(theirs, **kw))
        for m, o in zip(mine, other):
            if isinstance(o, int):
                assert m == o
            else:
                assert m[0].data.tolist() == o[0].tolist()


@pytest.mark.parametrize("kwargs, error, match", [
    ({"prefetch_factor": 2}, ValueError, "prefetch_factor"),
    ({"persistent_workers": True}, ValueError, "persistent_workers"),
    ({"sampler": [0, 1], "shuffle": True}, ValueError, "mutually exclusive with shuffle"),
    ({"batch_sampler": [[0]], "batch_size": 2}, ValueError, "mutually exclusive"),
    ({"batch_sampler": [[0]], "drop_last": True}, ValueError, "mutually exclusive"),
    ({"num_workers": -1}, ValueError, "num_workers"),
    ({"timeout": -1}, ValueError, "timeout"),
])
def test_refused_combinations_match_pytorch(kwargs, error, match):
    with pytest.raises(error, match=match):
        DataLoader(TensorDataset(np.arange(4)), **kwargs)
    torch = pytest.importorskip("torch")
    from torch.utils import data as td

    with pytest.raises(Exception):
        td.DataLoader(td.TensorDataset(torch.arange(4)), **kwargs)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"num_workers": 1.5}, TypeError, "num_workers"),
    ({"pin_memory": "yes"}, TypeError, "pin_memory"),
    ({"generator": 3}, TypeError, "generator"),
    ({"generator": np.random.default_rng(), "seed": 1}, ValueError, "not both"),
    ({"sampler": 3}, TypeError, "sampler"),
    ({"worker_init_fn": 3}, TypeError, "worker_init_fn"),
])
def test_bad_arguments_name_themselves(kwargs, error, match):
    with pytest.raises(error, match=match):
        DataLoader(TensorDataset(np.arange(4)), **kwargs)


def test_subset_indexes_through():
    ds = TensorDataset(np.arange(10) * 10)
    sub = Subset(ds, [3, 1, -1])
    assert len(sub) == 3 and [sub[i][0].item() for i in range(3)] == [30, 10, 90]
    assert [s[0].item() for s in sub[[0, 2]]] == [30, 90]
    assert values(DataLoader(sub, batch_size=2)) == [[30, 10], [90]]
    with pytest.raises(IndexError, match="Subset: index 10"):
        Subset(ds, [10])
    with pytest.raises(TypeError, match="Subset: indices must be ints"):
        Subset(ds, [1.0])


@pytest.mark.parametrize("n, lengths", [(10, [0.7, 0.3]), (11, [0.5, 0.5]), (7, [0.1, 0.2, 0.7]),
                                        (10, [3, 7]), (5, [0.25, 0.25, 0.25, 0.25]), (10, [1, 0])])
@pytest.mark.filterwarnings("ignore:Length of split")
def test_random_split_lengths_follow_pytorch(n, lengths):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parts = random_split(TensorDataset(np.arange(n)), lengths,
                             generator=np.random.default_rng(0))
    assert bool(caught) == (0 in [len(p) for p in parts])
    seen = sorted(i for p in parts for i in p.indices)
    assert seen == list(range(n))
    torch = pytest.importorskip("torch")
    from torch.utils import data as td

    theirs = td.random_split(range(n), lengths)
    assert [len(p) for p in parts] == [len(p) for p in theirs]


def test_random_split_is_seeded_by_manual_seed_and_checks_lengths():
    ds = TensorDataset(np.arange(8))
    mg.manual_seed(3)
    a = [p.indices for p in random_split(ds, [4, 4])]
    mg.manual_seed(3)
    assert a == [p.indices for p in random_split(ds, [4, 4])]
    with pytest.raises(ValueError, match="sum to 9, not to the dataset's 8"):
        random_split(ds, [4, 5])
    with pytest.raises(ValueError, match="neither ints nor fractions"):
        random_split(ds, [0.5, 0.6])
    with pytest.raises(TypeError, match="random_split: lengths"):
        random_split(ds, ["4", 4])
