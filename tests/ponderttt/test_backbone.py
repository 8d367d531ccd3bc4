"""The real backbone loads offline from the GGUF file and models code; the random one does not."""
import sysconfig
from pathlib import Path

import pytest
import torch

pytest.importorskip("transformers")


def _code_ids(bb, n=128):
    text = Path(sysconfig.get_paths()["stdlib"], "json", "decoder.py").read_text()
    return bb.tokenize(text)[:n][None]


def test_smollm2_identity_and_licence(smollm2):
    assert smollm2.name == "smollm2-135m"
    assert (smollm2.vocab_size, smollm2.d_model, smollm2.n_heads) == (49152, 576, 9)
    assert smollm2.info["license"] == "apache-2.0"            # read from the GGUF header
    assert smollm2.info["gguf"]["general.organization"] == "HuggingFaceTB"
    assert 1.3e8 < smollm2.n_params() < 1.4e8
    assert not any(p.requires_grad for p in smollm2.lm.parameters())


def test_smollm2_models_code_and_random_gpt2_does_not(smollm2):
    from ponderttt.backbone import load_backbone
    ids = _code_ids(smollm2)
    with torch.no_grad():
        loss = float(smollm2.lm(input_ids=ids, labels=ids).loss)
        h = smollm2.hidden(ids)
        direct = torch.nn.functional.cross_entropy(smollm2.head(h)[0, :-1], ids[0, 1:])
    assert loss < 3.0                              # a pretrained model: ~2 nats on stdlib code
    assert float(direct) == pytest.approx(loss, rel=1e-4)   # hidden + head = the model
    rnd = load_backbone("gpt2-random", scale="tiny")
    rid = _code_ids(rnd)
    with torch.no_grad():
        assert float(rnd.lm(input_ids=rid, labels=rid).loss) > 9.0  # ~ln 50257 = 10.8


def test_unknown_backbone():
    from ponderttt.backbone import load_backbone
    with pytest.raises(ValueError, match="unknown backbone"):
        load_backbone("gpt5")
