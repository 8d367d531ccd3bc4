import pytest
import torch

from ponderttt.corpora import SYNTHETIC_VOCAB, go_files, token_chunks
from ponderttt.data import stdlib_files


def test_stdlib_split_is_disjoint_and_fixed():
    tr, ho = stdlib_files("train"), stdlib_files("heldout")
    assert tr and ho and not set(tr) & set(ho)
    assert 0.05 < len(ho) / (len(tr) + len(ho)) < 0.15
    assert stdlib_files("heldout") == ho


def test_go_files_sorted_without_testdata(tmp_path):
    for rel in ("b/x.go", "a/y.go", "a/testdata/z.go", "a/readme.txt"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("package a\n")
    assert [p.relative_to(tmp_path).as_posix() for p in go_files(tmp_path)] == ["a/y.go", "b/x.go"]
    with pytest.raises(FileNotFoundError, match="ponder_data.sh"):
        go_files(tmp_path / "missing")


def test_synthetic_ids_are_the_seeds_range_and_fixed():
    a = token_chunks("synthetic", None, 4, 64)
    assert a.shape == (4, 64) and int(a.min()) >= 0 and int(a.max()) < SYNTHETIC_VOCAB
    assert torch.equal(a, token_chunks("synthetic", None, 4, 64))
    assert int(token_chunks("synthetic", None, 4, 64, vocab_size=500).max()) < 500


def test_chunks_are_consecutive():
    tok = lambda s: torch.tensor(list(s.encode()[:2000]))  # noqa: E731
    a = token_chunks("stdlib-heldout", tok, 3, 100)
    b = token_chunks("stdlib-heldout", tok, 1, 300)
    assert torch.equal(a.reshape(-1), b.reshape(-1))
    with pytest.raises(ValueError, match="holds"):
        token_chunks("stdlib-heldout", lambda s: torch.zeros(1, dtype=torch.long), 10 ** 6, 512)
