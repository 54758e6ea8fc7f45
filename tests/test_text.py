import numpy as np
import pytest

from vim.data.pipeline import text_tokenizer_path
from vim.data.text import BATCH_ENCODE_FROM, EOS_ID, PAD_ID, TextTokenizer


@pytest.fixture(scope="module")
def tokenizer(small_cfg):
    return TextTokenizer(text_tokenizer_path(small_cfg))


def test_round_trip_of_world_and_unseen_text(tokenizer):
    texts = ["two small red circles above a large blue box", "", "a zebra on the moon 🦓 — ünïcode"]
    enc = tokenizer.encode(texts, 48)
    assert enc.ids.shape == (3, 48) and enc.ids.dtype == np.int32
    assert tokenizer.decode(enc.ids) == texts  # byte fallback: nothing becomes <unk>
    # A world caption is a few whole-word pieces; the empty text is just EOS.
    assert enc.mask[0].sum() <= 12
    assert enc.ids[1, 0] == EOS_ID and enc.mask[1].sum() == 1
    assert (enc.ids[0, enc.mask[0].sum() :] == PAD_ID).all()


def test_truncation_is_counted_never_silent(tokenizer, caplog):
    before = tokenizer.num_truncated
    long = " ".join(["a small red circle above a large blue box"] * 4)
    enc = tokenizer.encode(["a small red circle", long, long], 8)
    assert enc.truncated.tolist() == [False, True, True]
    assert tokenizer.num_truncated == before + 2
    assert enc.ids[1, -1] == EOS_ID  # the cut text still ends with EOS
    assert "truncated 2 of 3 captions to 8 tokens" in caplog.text


def test_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="vim data text-tokenizer"):
        TextTokenizer(tmp_path / "none.model")


def test_few_and_many_texts_encode_alike(tokenizer):
    """One by one (few texts) and SentencePiece's batch call (many) give the same rows."""
    texts = ["a big red circle left of a small blue square", "two green triangles", ""]
    few = tokenizer.encode(texts, 16)
    many = tokenizer.encode(texts * BATCH_ENCODE_FROM, 16)
    assert len(texts) < BATCH_ENCODE_FROM <= len(texts) * BATCH_ENCODE_FROM
    np.testing.assert_array_equal(many.ids, np.tile(few.ids, (BATCH_ENCODE_FROM, 1)))
    assert (few.ids[:, 0] != PAD_ID).all() and few.ids[2, 0] == EOS_ID
