"""Data: seeded synthetic tokens, byte-level stdlib code with a fixed held-out split."""
import pytest

# the optional GPT-2 dependency (extra "ponder"): without it, skip this module
pytest.importorskip("transformers")

import torch  # noqa: E402

from ponderttt import make_tokens, stdlib_tokens, synthetic_tokens  # noqa: E402
from ponderttt.data import byte_to_token, stdlib_files  # noqa: E402


def test_synthetic_is_seeded_and_uniform_range():
    a, b, c = synthetic_tokens(5000, 0), synthetic_tokens(5000, 0), synthetic_tokens(5000, 1)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert int(a.min()) >= 0 and int(a.max()) < 50257 and int(a.max()) > 40000


def test_byte_ids_are_gpt2_single_byte_tokens():
    t = byte_to_token()
    assert sorted(t.tolist()) == list(range(256))
    assert int(t[ord("!")]) == 0 and int(t[ord("\n")]) == 198 and int(t[ord(" ")]) == 220


def test_stdlib_split_is_disjoint_and_decodes_back(tmp_path):
    for i in range(40):
        (tmp_path / f"m{i:02d}.py").write_text(f"x = {i}\n")
    held, train = stdlib_files("heldout", tmp_path), stdlib_files("train", tmp_path)
    assert held and train and not set(held) & set(train)
    assert len(held) + len(train) == 40
    assert held == sorted(held)
    toks = stdlib_tokens(12, "heldout", tmp_path)
    inv = {int(v): k for k, v in enumerate(byte_to_token())}
    text = bytes(inv[int(x)] for x in toks).decode()
    assert text == (held[0].read_text() + "\n" + held[1].read_text())[:12]


def test_real_stdlib_has_enough_code_for_the_experiments():
    toks = make_tokens(20 * 512, real=True)
    assert toks.shape == (20 * 512,) and int(toks.max()) < 256
    with pytest.raises(ValueError, match="bytes"):
        stdlib_tokens(10**10)
    with pytest.raises(ValueError, match="unknown split"):
        stdlib_files("test")
