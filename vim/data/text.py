"""Caption tokenization with SentencePiece: trained on the training captions, saved beside the dataset.

Any SentencePiece model file loads too. Encoding is to a fixed length; every truncation is counted
and reported (`TextTokenizer.num_truncated`, and the `truncated` field of each batch), never silent.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import sentencepiece as spm

log = logging.getLogger(__name__)

MODEL_FILE = "text_tokenizer.model"
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


def train_text_tokenizer(
    captions: Iterable[str], output: str | os.PathLike, vocab_size: int, model_type: str = "bpe"
) -> Path:
    """Train a SentencePiece model on captions and write it to `output` (a .model file).

    Byte fallback keeps every string encodable (no <unk>) even for text the captions never used.
    """
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(captions),
        model_writer=model,
        vocab_size=vocab_size,
        model_type=model_type,
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=EOS_ID,
        byte_fallback=True,
        character_coverage=1.0,
        hard_vocab_limit=False,  # small grammars have fewer pieces than vocab_size; that is fine
        minloglevel=2,
    )
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(model.getvalue())
    tmp.replace(path)
    return path


@dataclasses.dataclass(frozen=True, slots=True)
class EncodedText:
    ids: np.ndarray  # int32 [batch, length], PAD_ID after the end
    mask: np.ndarray  # bool [batch, length], True on real tokens
    truncated: np.ndarray  # bool [batch], the caption did not fit and was cut


BATCH_ENCODE_FROM = 64  # texts per call from which SentencePiece's threaded batch encoding is the faster


class TextTokenizer:
    """Fixed-length caption encoder: pieces + EOS, padded with PAD_ID; the empty text is just EOS."""

    def __init__(self, model_path: str | os.PathLike):
        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(
                f"no SentencePiece model at {path}; train one with `vim data text-tokenizer` "
                "or pass --set text.model_path=FILE"
            )
        self.path = path
        try:  # an empty, truncated or foreign file: sentencepiece says only "RuntimeError: ... parse"
            self.processor = spm.SentencePieceProcessor(model_file=str(path))
        except (RuntimeError, OSError) as e:
            reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
            raise ValueError(f"{path}: not a SentencePiece model (empty, damaged or another file; {reason})") from None
        if self.processor.pad_id() < 0:
            raise ValueError(f"{path} has no pad piece; vim needs one (train with pad_id={PAD_ID})")
        self.pad_id = self.processor.pad_id()
        self.eos_id = self.processor.eos_id()
        self.num_truncated = 0  # running count over this tokenizer's lifetime

    @property
    def vocab_size(self) -> int:
        return self.processor.get_piece_size()

    def encode(self, texts: Sequence[str], length: int) -> EncodedText:
        if length < 1:
            raise ValueError(f"text length must be ≥ 1, got {length}")
        # SentencePiece's list call starts a thread pool each time: that pays off for many texts, while a
        # data loader's one or two captions per example are cheaper to encode one by one.
        texts = list(texts)
        if len(texts) >= BATCH_ENCODE_FROM:
            pieces = self.processor.encode(texts)
        else:
            pieces = [self.processor.encode(text) for text in texts]
        ids = np.full((len(texts), length), self.pad_id, np.int32)
        truncated = np.zeros(len(texts), bool)
        for i, row in enumerate(pieces):
            row = row + ([self.eos_id] if self.eos_id >= 0 else [])
            if len(row) > length:
                truncated[i] = True
                row = row[: length - 1] + row[-1:]  # keep EOS so the model sees where text ends
            ids[i, : len(row)] = row
        n = int(truncated.sum())
        if n:
            self.num_truncated += n
            log.warning(
                "truncated %d of %d captions to %d tokens (%d so far)", n, len(texts), length, self.num_truncated
            )
        return EncodedText(ids, ids != self.pad_id, truncated)

    def decode(self, ids: np.ndarray) -> list[str]:
        rows = np.atleast_2d(ids)
        return [self.processor.decode([int(t) for t in row if t not in (self.pad_id, self.eos_id)]) for row in rows]
