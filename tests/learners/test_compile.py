"""compile=True: the Jacobians and the readout through torch.compile stay exact.

Compiling takes tens of seconds per learner on a small CPU, so these run only when asked:
RTRL_MOE_TEST_COMPILE=1 pytest tests/learners/test_compile.py
"""
import os

import pytest

import rtrl_moe as rm

from .helpers import assert_exact, moe, sequence

pytestmark = pytest.mark.skipif(os.environ.get("RTRL_MOE_TEST_COMPILE") != "1",
                                reason="slow (torch.compile); set RTRL_MOE_TEST_COMPILE=1")


@pytest.mark.parametrize("name", ["rtrl", "sparse-rtrl", "tree-rtrl"])
def test_compiled_learners_are_exact(name):
    # B = 1 and B = 2 take different paths through the compiled Jacobian (batch loop).
    model = moe()
    L = rm.make_learner(name, model, compile=True)
    for B in (2, 1):
        x, y = sequence(B, 15, 5)
        ref = rm.make_learner("bptt", model).gradient(x, y)
        assert_exact(L.gradient(x, y), ref)
    assert L.compile_s > 0
