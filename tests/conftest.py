import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread_and_seed():
    # Two cores on CI; one thread keeps runs steady, the seed keeps them repeatable.
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
