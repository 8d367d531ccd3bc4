import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def tiny():
    """A tiny MoE config: every learner finishes a few steps in well under a second."""
    return {"d_model": 4, "n_slots": 3, "n_experts": 2, "topk": 1, "topk_read": 1,
            "topk_write": 1, "d_ff": 8}


@pytest.fixture(autouse=True)
def _one_thread():
    import torch
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture
def hook_env(monkeypatch):
    """Enable the worker's test-only failure hooks (and one thread) for subprocesses."""
    monkeypatch.setenv("RTRL_MOE_BENCH_TEST_HOOKS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return dict(os.environ)


@pytest.fixture
def clean_tree(monkeypatch):
    """The sweep sees a clean work tree at a fixed commit, whatever state this checkout is in
    (the resume rule depends on it)."""
    g = {"commit": "c" * 40, "dirty": False}
    monkeypatch.setattr("rtrl_moe.bench.sweep.git_info", lambda: dict(g))
    return g
