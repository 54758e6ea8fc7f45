"""`vim generate --file`, `vim p2 run`, `vim eval faithfulness` and `vim encode-dataset` as two processes on
127.0.0.1: each process does its share, every output is written once, and the result equals one process's."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.test_multihost import finish, start
from vim.data.locations import codes_record, encoded_dir

pytestmark = pytest.mark.slow  # long multi-process runs: `make test-slow` (CI runs both tiers)

PROMPTS = ["a red circle", "two blue squares left of a green triangle", "a small yellow square"]


def pixels(folder: Path) -> dict[str, np.ndarray]:
    return {p.relative_to(folder).as_posix(): np.asarray(Image.open(p)) for p in sorted(folder.rglob("*.png"))}


def without_timing(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "seconds"}


@pytest.fixture(scope="module")
def inference_runs(small_bundle, encoded, tmp_path_factory):
    """generate, p2 run, eval faithfulness and eval tokenizer, each on two processes and on one, and
    encode-dataset on two processes (into a copy of the tokenizer run the `encoded` fixture encoded
    in-process), all started side by side."""
    root = tmp_path_factory.mktemp("multihost-inference")
    shutil.copytree(encoded, root / "tokenizer", ignore=shutil.ignore_patterns("encoded"))
    (root / "prompts.txt").write_text("\n".join(PROMPTS) + "\n")
    sampling = ["--checkpoint", str(small_bundle), "--batch-size", "2", "--seed", "5"]
    generate = ["generate", "--file", str(root / "prompts.txt"), "-n", "2", *sampling]
    p2 = ["p2", "run", "--challenge", "Quantity", "--limit", "3", "-n", "1", *sampling]
    # 3 captions at two scales: blocks of 1 and 2 captions, gathered twice
    faithfulness = ["eval", "faithfulness", "-n", "3", "--scales", "1,2", "--fid-images", "0", *sampling]
    procs = {}
    for name, args in (("generate", generate), ("p2", p2), ("faithfulness", faithfulness)):
        for count in (2, 1):
            out = root / f"{name}-{count}"
            target = {
                "generate": ["-o", str(out)],
                "p2": ["--out", str(out)],
                "faithfulness": ["-o", f"{out}.json", "--images", str(out)],
            }
            procs[name, count] = start([*args, *target[name]], count, out)
    # the validation split's 64 images in 4 batches, 2 per process; without LPIPS (a VGG16 per process)
    evaluate = ["eval", "tokenizer", "--checkpoint", str(encoded), "--batch-size", "16", "--no-lpips"]
    for count in (2, 1):
        out = ["-o", str(root / f"tokenizer-{count}.json")]
        procs["tokenizer", count] = start([*evaluate, *out], count, root / f"tok-{count}")
    procs["encode", 2] = start(["encode-dataset", "--tokenizer", str(root / "tokenizer")], 2, root / "encode-2")
    return root, procs


def test_generate_splits_prompts_and_writes_each_image_once(inference_runs):
    root, procs = inference_runs
    for count in (2, 1):
        finish(procs["generate", count], root / f"generate-{count}")
    two, one = pixels(root / "generate-2"), pixels(root / "generate-1")
    assert len(one) == 6 and sorted(two) == sorted(one)
    assert all(np.array_equal(two[name], one[name]) for name in one)
    for sidecar in (root / "generate-1").glob("*.json"):
        other = json.loads((root / "generate-2" / sidecar.name).read_text())
        assert without_timing(other) == without_timing(json.loads(sidecar.read_text()))
    assert sorted(p.name for p in (root / "generate-2").iterdir()) == sorted(
        p.name for p in (root / "generate-1").iterdir()
    )
    logs = [Path(f"{root / 'generate-2'}.p{i}.log").read_text() for i in range(2)]
    # prompts 0 and 2 on process 0, prompt 1 on process 1: each image drawn and written by one process
    assert "process 0 of 2 wrote 4 images" in logs[0] and "process 1 of 2 wrote 2 images" in logs[1]
    assert "wrote 6 images" in logs[0] and "wrote 6 images" not in logs[1]


def test_p2_run_splits_prompts_and_writes_results_once(inference_runs):
    root, procs = inference_runs
    for count in (2, 1):
        finish(procs["p2", count], root / f"p2-{count}")
    two, one = root / "p2-2", root / "p2-1"
    assert sorted(pixels(two)) == sorted(pixels(one)) and len(pixels(one)) == 3
    assert all(np.array_equal(a, b) for a, b in zip(pixels(two).values(), pixels(one).values(), strict=True))
    lines = [
        [without_timing(json.loads(x)) for x in (run / "results.jsonl").read_text().splitlines()] for run in (two, one)
    ]
    assert lines[0] == lines[1] and len({r["index"] for r in lines[0]}) == 3
    assert not list(two.glob("results.p*.jsonl"))  # merged into results.jsonl by process 0
    assert json.loads((two / "run.json").read_text()) == json.loads((one / "run.json").read_text())
    assert "3 prompts · 3 images" in (two / "index.html").read_text()
    logs = [Path(f"{two}.p{i}.log").read_text() for i in range(2)]
    assert re.search(r"process 0 of 2 drew 2 prompt\(s\), 3 in all", logs[0])
    assert re.search(r"process 1 of 2 drew 1 prompt\(s\), 3 in all", logs[1])
    assert '"prompts": 3' in logs[0] and '"prompts": 3' not in logs[1]


def test_encode_dataset_splits_batches_and_writes_one_cache(inference_runs, encoded):
    import tensorflow_datasets as tfds

    root, procs = inference_runs
    finish(procs["encode", 2], root / "encode-2")
    two, one = encoded_dir(root / "tokenizer"), encoded_dir(encoded)
    for split in ("train", "validation", "test"):
        a = tfds.builder_from_directory(str(two)).as_data_source(split)
        b = tfds.builder_from_directory(str(one)).as_data_source(split)
        assert len(a) == len(b) > 0
        for i in range(len(b)):
            x, y = a[i], b[i]
            assert sorted(x) == sorted(y) and all(np.array_equal(x[k], y[k]) for k in y), (split, i)
    made = [json.loads(codes_record(run).read_text()) for run in (root / "tokenizer", encoded)]
    assert made[0]["text_tokenizer"] == made[1]["text_tokenizer"]
    assert {k: v for k, v in made[0]["tokenizer"].items() if k != "source"} == {
        k: v for k, v in made[1]["tokenizer"].items() if k != "source"
    }
    assert not (root / "tokenizer" / "encoded.parts").exists()  # the shares, merged by process 0 and removed
    logs = [Path(f"{root / 'encode-2'}.p{i}.log").read_text() for i in range(2)]
    assert "codes cached at" in logs[0] and "codes cached at" not in logs[1]
    # 5 batches of 128 (train 320, validation 64, test 64): train's 1st and 3rd and the others on process 0
    assert "process 0 encoded 4 batch(es)" in logs[0] and "process 1 encoded 1 batch(es)" in logs[1]


def test_eval_faithfulness_splits_captions_and_reports_once(inference_runs):
    root, procs = inference_runs
    for count in (2, 1):
        finish(procs["faithfulness", count], root / f"faithfulness-{count}")
    two, one = (json.loads((root / f"faithfulness-{count}.json").read_text()) for count in (2, 1))
    assert two == one and [r["cfg_scale"] for r in one["rows"]] == [1.0, 2.0]
    images = [pixels(root / f"faithfulness-{count}") for count in (2, 1)]  # written by process 0 alone
    assert sorted(images[1]) == [f"cfg{s}/{i:05d}.png" for s in (1, 2) for i in range(3)] == sorted(images[0])
    assert all(np.array_equal(images[0][name], images[1][name]) for name in images[1])
    assert not np.array_equal(images[1]["cfg1/00000.png"], images[1]["cfg1/00001.png"])
    logs = [Path(f"{root / 'faithfulness-2'}.p{i}.log").read_text() for i in range(2)]
    assert "| CFG scale |" in logs[0] and "| CFG scale |" not in logs[1]  # the table, printed by process 0


def test_eval_tokenizer_splits_batches_and_reports_once(inference_runs):
    root, procs = inference_runs
    for count in (2, 1):
        finish(procs["tokenizer", count], root / f"tok-{count}")
    two, one = (json.loads((root / f"tokenizer-{count}.json").read_text()) for count in (2, 1))
    assert one["images"] == 64 and one["codebook_usage"] > 0
    measures = ("psnr", "codebook_usage", "codebook_perplexity")
    assert {k: v for k, v in two.items() if k not in measures} == {k: v for k, v in one.items() if k not in measures}
    for k in measures:  # the same images, averaged in another order
        assert two[k] == pytest.approx(one[k], rel=1e-6), k
    logs = [Path(f"{root / 'tok-2'}.p{i}.log").read_text() for i in range(2)]
    assert '"psnr"' in logs[0] and '"psnr"' not in logs[1]


def test_single_process_commands_refuse_multi_process_settings_naming_the_ones_that_take_them(capsys):
    from vim.cli import main

    flags = ["--coordinator", "127.0.0.1:1", "--num-processes", "2", "--process-id", "0"]
    assert main([*flags, "export", "--tokenizer", "x", "-o", "y"]) == 2
    err = capsys.readouterr().err
    assert "vim export runs as one process, but 2 processes asked for several" in err
    assert "encode-dataset, generate, p2 run, eval faithfulness, eval tokenizer" in err
