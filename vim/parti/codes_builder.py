"""The tfds builder of the generator's code datasets (`vim encode-dataset`); kept apart so that importing
the trainer does not import tensorflow_datasets."""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from vim.data.locations import CODES_VERSION


class EncodedCaptions(tfds.core.GeneratorBasedBuilder):
    """A caption dataset with its images replaced by tokenizer codes."""

    VERSION = tfds.core.Version(CODES_VERSION)

    def __init__(self, *, grid: int, text_length: int, splits: dict | None = None, **kwargs):
        self.grid, self.text_length, self.splits = grid, text_length, splits or {}
        super().__init__(file_format="array_record", **kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description="Image codes + caption token ids written by `vim encode-dataset`.",
            features=tfds.features.FeaturesDict(
                {
                    "codes": tfds.features.Tensor(shape=(self.grid, self.grid), dtype=np.int16),
                    "text_ids": tfds.features.Tensor(shape=(self.text_length,), dtype=np.int32),
                    "caption": tfds.features.Text(),
                    "scene": tfds.features.Text(),
                    "heldout": tfds.features.Tensor(shape=(), dtype=np.bool_),
                }
            ),
        )

    def _split_generators(self, dl_manager):
        return {split: make() for split, make in self.splits.items()}

    def _generate_examples(self):  # splits come from the callables given to __init__
        raise NotImplementedError
