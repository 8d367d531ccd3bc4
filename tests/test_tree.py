import pytest
import torch

from rtrl_moe.tree import CircularTree


def plain_product(mats, t0, t1):
    out = torch.eye(mats[0].shape[-1], dtype=mats[0].dtype)
    for s in range(t0, t1 + 1):
        out = mats[s] @ out
    return out


@pytest.mark.parametrize("capacity", [1, 3, 4, 7])
def test_range_products_match_the_plain_product_including_wraparound(capacity):
    g = torch.Generator().manual_seed(capacity)
    tree = CircularTree(capacity)
    mats = []
    for t in range(3 * capacity + 5):
        mats.append(torch.randn(2, 4, 4, generator=g, dtype=torch.float64))
        assert tree.push(mats[-1]) == t
        for t0 in range(tree.oldest(), t + 1):
            for t1 in range(t0, t + 1):
                torch.testing.assert_close(tree.product(t0, t1), plain_product(mats, t0, t1),
                                           rtol=1e-12, atol=1e-12)


def test_windows_outside_the_buffer_are_refused():
    tree = CircularTree(2)
    for _ in range(5):
        tree.push(torch.eye(2))
    with pytest.raises(IndexError):
        tree.product(0, 4)
    with pytest.raises(IndexError):
        tree.product(4, 5)


def test_nodes_are_cached_until_a_leaf_changes():
    tree = CircularTree(8)
    for _ in range(8):
        tree.push(torch.eye(3) * 2)
    tree.product(0, 7)
    first = tree.products
    tree.product(0, 7)
    assert tree.products == first          # cached
    tree.push(torch.eye(3))
    tree.product(1, 8)
    assert tree.products > first
