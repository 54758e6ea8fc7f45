import dataclasses
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from vim import config as config_lib
from vim.data.pipeline import DatasetNotReadyError, make_batches, open_split
from vim.world.dataset import make_example


def test_tfds_round_trip_matches_the_world(small_cfg):
    for split, n in (("train", 320), ("validation", 64), ("test", 64)):
        source = open_split(small_cfg.data, split)
        assert len(source) == n
    source = open_split(small_cfg.data, "train")
    by_scene = {source[i]["scene"].decode(): source[i] for i in range(len(source))}
    assert len(by_scene) == 320
    # Every stored example equals the world's example with the same index (tfds reorders by key).
    for index in (0, 17, 319):
        ref = make_example(small_cfg.data.world, "train", index)
        stored = by_scene[ref["scene"]]
        assert stored["image"].dtype == np.uint8 and stored["image"].shape == (64, 64, 3)
        assert np.array_equal(stored["image"], ref["image"])
        assert stored["caption"].decode() == ref["caption"]
        assert bool(stored["heldout"]) == ref["heldout"]
    assert sum(bool(open_split(small_cfg.data, "test")[i]["heldout"]) for i in range(64)) > 10


def test_batches_have_the_documented_shapes(small_cfg):
    it = make_batches(small_cfg, "train", process_index=0, process_count=1)
    batch = next(it)
    assert batch["image"].shape == (8, 64, 64, 3) and batch["image"].dtype == np.uint8
    assert batch["text_ids"].shape == (8, small_cfg.text.max_length) and batch["text_ids"].dtype == np.int32
    assert batch["text_mask"].sum(1).min() >= 2
    assert not batch["truncated"].any()
    assert len(batch["caption"]) == 8


def test_iterator_state_restores_the_exact_following_batches(small_cfg):
    it = make_batches(small_cfg, "train", process_index=0, process_count=1)
    for _ in range(45):  # past the first epoch (40 batches) so the epoch reshuffle is covered
        next(it)
    state = it.get_state()
    expected = [next(it) for _ in range(5)]
    resumed = make_batches(small_cfg, "train", process_index=0, process_count=1)
    resumed.set_state(state)
    for want in expected:
        got = next(resumed)
        assert np.array_equal(got["image"], want["image"])
        assert np.array_equal(got["text_ids"], want["text_ids"])


def test_shuffling_is_seeded_and_epochs_differ(small_cfg):
    first = [next(make_batches(small_cfg, "train", process_index=0, process_count=1))["caption"] for _ in range(2)]
    assert list(first[0]) == list(first[1])
    cfg = dataclasses.replace(small_cfg, data=dataclasses.replace(small_cfg.data, shuffle_seed=1))
    other = next(make_batches(cfg, "train", process_index=0, process_count=1))["caption"]
    assert list(other) != list(first[0])
    it = make_batches(small_cfg, "train", process_index=0, process_count=1)
    epoch1 = [c for _ in range(40) for c in next(it)["caption"]]
    epoch2 = [c for _ in range(40) for c in next(it)["caption"]]
    assert sorted(epoch1) == sorted(epoch2) and epoch1 != epoch2


WORKER_BATCH = textwrap.dedent("""
    import json, sys
    import numpy as np
    from vim import config as config_lib
    from vim.data.pipeline import make_batches
    cfg = config_lib.from_dict(json.loads(sys.argv[1]))
    batch = next(make_batches(cfg, "train", process_index=0, process_count=1))
    print(json.dumps({"caption": [str(c) for c in batch["caption"]], "image_sum": int(batch["image"].sum())}))
""")


def test_worker_processes_start_and_repeat_their_batches(small_cfg):
    """Fresh programs, as vim's CLI is (no absl app has parsed grain's flags), with two grain workers: each
    yields a full batch, the same one both times (workers split the records differently from data.num_workers=0,
    so only the worker runs are compared)."""
    cfg = dataclasses.replace(small_cfg, data=dataclasses.replace(small_cfg.data, num_workers=2))
    runs = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", WORKER_BATCH, json.dumps(config_lib.to_dict(cfg))],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert runs[0] == runs[1] and len(runs[0]["caption"]) == cfg.data.batch_size


def test_processes_read_disjoint_shards(small_cfg):
    seen = []
    for index in range(2):
        it = make_batches(small_cfg, "validation", shuffle=False, num_epochs=1, process_index=index, process_count=2)
        batches = list(it)
        assert all(b["image"].shape[0] == 4 for b in batches)
        seen.append({bytes(img.tobytes()) for b in batches for img in b["image"]})
    assert not seen[0] & seen[1]
    assert len(seen[0]) + len(seen[1]) == 64


def test_batch_must_divide_over_processes(small_cfg):
    with pytest.raises(ValueError, match="does not divide"):
        make_batches(small_cfg, "train", process_index=0, process_count=3)


def test_missing_datasets_give_clear_errors(tmp_path):
    cfg = config_lib.tiny()
    cfg.data.data_dir = str(tmp_path)
    with pytest.raises(DatasetNotReadyError, match="vim data build shapes"):
        open_split(cfg.data, "train")
    cfg.data.dataset = "imported/nothing"
    with pytest.raises(DatasetNotReadyError, match="vim data import"):
        open_split(cfg.data, "train")
    cfg.data.dataset = "mnist"  # a real catalog name that is not prepared here: error, no download
    with pytest.raises(DatasetNotReadyError, match=r"not prepared|cannot open"):
        open_split(cfg.data, "train")
    cfg.data.dataset = "no_such_dataset_xyz"
    with pytest.raises(DatasetNotReadyError, match="cannot open"):
        open_split(cfg.data, "train")


def test_a_short_evaluation_reads_a_few_batches_ahead_not_the_whole_split():
    """The loader reads two batches of records ahead (vim.data.pipeline.prefetch_options), not grain's 500."""
    import threading
    import time

    from vim.data.pipeline import batch_iterator

    class CountingSource:
        def __init__(self):
            self.reads, self.lock = 0, threading.Lock()

        def __len__(self):
            return 1_000

        def __getitem__(self, i):
            with self.lock:
                self.reads += 1
            return {"x": np.int32(i)}

    cfg = config_lib.tiny()
    cfg.data.batch_size = 4
    source = CountingSource()
    batches = batch_iterator(source, [], cfg, shuffle=False, num_epochs=1, process_index=0, process_count=1)
    assert next(batches)["x"].tolist() == [0, 1, 2, 3]
    time.sleep(0.5)  # the reader thread fills what it prefetches
    assert 4 <= source.reads <= 4 + 2 * 4 + 1, source.reads
