"""A stock JAX GPU image needs only grain added: the trainers and the sampler do not import tfds."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["vim.parti.train", "vim.tokenizer.train", "vim.generate", "vim.cli"])
def test_module_does_not_import_tensorflow_datasets(module):
    code = f"import sys, {module}; print(sorted(m for m in ('tensorflow_datasets', 'tensorflow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_readers_still_import_it_when_they_read(tmp_path):
    from vim.parti.data import code_batches

    with pytest.raises(FileNotFoundError, match="vim encode-dataset"):
        code_batches(None, tmp_path, "train")  # no codes cached: the reader says how to make them
