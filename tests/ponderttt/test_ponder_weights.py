"""--weights: a tiny GPT-2 checkpoint written here, loaded by the library's own loader."""
import pytest

# the optional GPT-2 dependency (extra "ponder"): without it, skip this module
pytest.importorskip("transformers")

import torch  # noqa: E402
from transformers import GPT2LMHeadModel  # noqa: E402

from ponderttt import build_model, make_tokens, run_stream  # noqa: E402
from ponderttt.config import SCALES  # noqa: E402
from ponderttt.model import gpt2_config  # noqa: E402


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(123)
    lm = GPT2LMHeadModel(gpt2_config(SCALES["tiny"]))
    with torch.no_grad():  # scaled, so that no seed's random init equals them
        lm.transformer.wte.weight.mul_(3.0)
    return lm


def _same_backbone(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa if not k.endswith("attn.bias"))


def test_load_save_pretrained_directory(saved, tmp_path):
    saved.save_pretrained(tmp_path / "ckpt")
    model = build_model("tiny", weights=tmp_path / "ckpt")
    assert _same_backbone(model.lm, saved)
    assert not _same_backbone(build_model("tiny").lm, saved)
    # the TTT layer's init does not depend on the weights
    torch.testing.assert_close(model.ttt.W0, build_model("tiny").ttt.W0)
    run_stream(model, make_tokens(64), "UPDATE_1", chunk_size=32)


@pytest.mark.parametrize("kind", ["pt", "safetensors", "body"])
def test_load_state_dict_files(saved, tmp_path, kind):
    if kind == "safetensors":
        from safetensors.torch import save_file
        sd = {k: v.contiguous() for k, v in saved.state_dict().items() if k != "lm_head.weight"}
        path = tmp_path / "w.safetensors"
        save_file(sd, str(path))
    else:
        sd = saved.transformer.state_dict() if kind == "body" else saved.state_dict()
        path = tmp_path / "w.pt"
        torch.save(sd, path)
    model = build_model("tiny", weights=path)
    assert _same_backbone(model.lm, saved)
    assert model.lm.lm_head.weight.data_ptr() == model.lm.transformer.wte.weight.data_ptr()


def test_wrong_shape_is_refused(saved, tmp_path):
    saved.save_pretrained(tmp_path / "ckpt")
    with pytest.raises(ValueError, match="scale '125m' needs"):
        build_model("125m", weights=tmp_path / "ckpt")


def test_cli_weights_flag(saved, tmp_path, capsys):
    from ponderttt.experiments import train_baseline
    saved.save_pretrained(tmp_path / "ckpt")
    rc = train_baseline.main(["--model_scale", "tiny", "--chunk_size", "32", "--num_chunks", "1",
                              "--weights", str(tmp_path / "ckpt"), "--output_dir", str(tmp_path)])
    assert rc == 0
    ref = run_stream(build_model("tiny", weights=tmp_path / "ckpt"), make_tokens(32), "SKIP",
                     chunk_size=32)
    assert f"Chunk 1/1: loss={ref.losses[0]:.3f}" in capsys.readouterr().out
