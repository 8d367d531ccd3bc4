import pytest

# the whole folder needs the optional GPT-2 dependency; without it, skip cleanly
pytest.importorskip("transformers")
