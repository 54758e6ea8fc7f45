"""PartiPrompts: loader, resumable runs with reports, side-by-side pages and their scores."""

import collections
import json
import re

import numpy as np
import pytest
from PIL import Image

from vim.bundle import load_bundle
from vim.cli import main
from vim.config import SampleConfig
from vim.generate import Generator
from vim.p2.compare import score, write_compare
from vim.p2.prompts import load_prompts, select
from vim.p2.run import read_results, run_p2

# Counts of the distributed PartiPrompts.tsv (google-research/parti, 2022-06-28).
CATEGORIES = {
    "Animals": 314, "Artifacts": 287, "World Knowledge": 214, "People": 177, "Outdoor Scenes": 131,
    "Illustrations": 124, "Vehicles": 104, "Food & Beverage": 74, "Arts": 66, "Abstract": 51,
    "Produce & Plants": 50, "Indoor Scenes": 40,
}  # fmt: skip
CHALLENGES = {
    "Fine-grained Detail": 312, "Basic": 272, "Simple Detail": 232, "Style & Format": 206, "Imagination": 150,
    "Complex": 113, "Writing & Symbols": 91, "Quantity": 90, "Perspective": 70, "Linguistic Structures": 61,
    "Properties & Positioning": 35,
}  # fmt: skip


def test_loader_counts_and_literal_quotes():
    prompts = load_prompts()
    assert len(prompts) == 1632
    assert collections.Counter(p.category for p in prompts) == CATEGORIES
    assert collections.Counter(p.challenge for p in prompts) == CHALLENGES
    texts = {p.prompt for p in prompts}
    assert 'The 1970s logo for a london-area football club called "The Rumbury Wanderers"' in texts
    assert sum('"' in t for t in texts) >= 10


def test_filters():
    prompts = load_prompts()
    animals = select(prompts, category="animals", challenge="Quantity")
    assert animals and all(p.category == "Animals" and p.challenge == "Quantity" for p in animals)
    assert [p.index for p in select(prompts, contains="GIRAFFE", limit=2)] == [
        p.index for p in prompts if "giraffe" in p.prompt.lower()
    ][:2]
    with pytest.raises(ValueError, match="unknown P2 category 'Robots'"):
        select(prompts, category="Robots")


@pytest.fixture(scope="module")
def generator(small_bundle):
    return Generator(load_bundle(small_bundle), batch_size=2)


def test_run_writes_images_results_and_report(generator, tmp_path):
    prompts = select(load_prompts(), category="Vehicles", limit=3)
    totals = run_p2(generator, tmp_path / "run", prompts, n=2, sample=SampleConfig(), progress=False)
    assert totals["prompts"] == 3 and totals["images"] == 6 and totals["seconds_per_image"] > 0
    records = read_results(tmp_path / "run")
    assert [r["index"] for r in records] == [p.index for p in prompts]
    for r in records:
        assert r["seeds"] == [r["index"] * 2, r["index"] * 2 + 1]
        assert all((tmp_path / "run" / f).is_file() for f in r["files"])
    page = (tmp_path / "run" / "index.html").read_text()
    assert "3 prompts · 6 images" in page and "not a PartiPrompts result" in page
    assert "By category" in page and "By challenge" in page and str(generator.bundle.path) in page
    assert totals["in_vocabulary"] == [] and "Prompts in this model's vocabulary (0 of 3)" in page


def test_prompts_in_the_vocabulary_use_only_words_of_the_training_captions(generator):
    from vim.p2.run import vocabulary_check

    known, how = vocabulary_check(generator.bundle)
    assert how == "the words of shapes's training captions"  # the small world is built: its captions are read
    assert known("A red circle.") and known("two blue squares on a green star")
    assert not known("a red bicycle") and not known("the of a")  # an unseen word; function words alone


def test_interrupted_run_resumes_each_prompt_exactly_once(generator, tmp_path):
    prompts = select(load_prompts(), category="Abstract", limit=5)
    out = tmp_path / "run"

    def stop_after_two(count):
        if count == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_p2(generator, out, prompts, n=1, sample=SampleConfig(), progress=False, after_prompt=stop_after_two)
    with (out / "results.jsonl").open("a") as f:
        f.write('{"index": ' + str(prompts[2].index) + ', "prompt": "cut sh')  # killed mid-line
    run_p2(generator, out, prompts, n=1, sample=SampleConfig(), progress=False)
    indices = [r["index"] for r in read_results(out)]
    assert sorted(indices) == sorted(p.index for p in prompts) and len(indices) == len(set(indices)) == 5
    with pytest.raises(ValueError, match=r"images_per_prompt: run has 1, requested 2"):
        run_p2(generator, out, prompts, n=2, sample=SampleConfig(), progress=False)


def test_compare_page_records_sides_and_scores_map_back(generator, tmp_path):
    prompts = select(load_prompts(), category="Arts", limit=6)
    run_p2(generator, tmp_path / "A", prompts, n=1, sample=SampleConfig(cfg_scale=3.0), progress=False)
    run_p2(generator, tmp_path / "B", prompts, n=1, sample=SampleConfig(cfg_scale=1.0), progress=False)
    page_path = tmp_path / "cmp" / "compare.html"
    assert write_compare(tmp_path / "A", tmp_path / "B", page_path, seed=3) == 6
    page = page_path.read_text()
    meta = json.loads(re.search(r'<script id="meta" type="application/json">(.*?)</script>', page).group(1))
    sides = [it["left"] for it in meta["items"]]
    assert set(sides) == {"A", "B"}  # both orders occur
    for it in meta["items"]:  # the left column really shows the run named by `left`
        block = re.search(rf'data-index="{it["index"]}" data-left="(\w)".*?<div class="side">(.*?)</div>', page)
        assert block.group(1) == it["left"] and f"../{it['left']}/images/" in block.group(2)
    # A judge who always clicks "left" prefers whichever run was on the left.
    judgements = [{**it, "choice": "left"} for it in meta["items"]]
    (tmp_path / "j.json").write_text(json.dumps({"run_a": "A", "run_b": "B", "judgements": judgements}))
    result = score(tmp_path / "j.json")
    assert result["overall"]["n"] == 6
    assert result["overall"]["A"] == pytest.approx(sides.count("A") / 6)
    assert result["overall"]["B"] == pytest.approx(sides.count("B") / 6)
    assert result["category/Arts"]["n"] == 6
    assert main(["p2", "score", str(tmp_path / "j.json")]) == 0


def test_cli_run(small_bundle, tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["p2", "run", "--checkpoint", str(small_bundle), "--out", str(out), "--challenge", "Quantity"]
    assert main([*argv, "--limit", "2", "-n", "1"]) == 0
    assert '"prompts": 2' in capsys.readouterr().out
    assert main([*argv[:-2], "--challenge", "Nope"]) == 2
    assert "unknown P2 challenge 'Nope'" in capsys.readouterr().err


def test_run_reports_fid_against_a_reference(generator, tmp_path, monkeypatch):
    from tests.test_metrics import BATCH, random_weights
    from vim.metrics import features as features_lib
    from vim.metrics import weights as weights_lib

    class SmallBatches(features_lib.Extractor):
        """The run's extractor at test_metrics' compiled batch of 4: 6 images are 2 batches of 4 per folder,
        from a program the session has compiled, instead of one batch padded to 32 from a program of its own."""

        def __init__(self, weights=None, batch_size: int = 32, logits: bool = False):
            super().__init__(weights, BATCH, logits)

    monkeypatch.setattr(features_lib, "Extractor", SmallBatches)
    weights = weights_lib.save_weights(random_weights(), tmp_path / "w.npz", "random-test-weights", "0" * 64)
    ref = tmp_path / "ref"
    ref.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), np.uint8)).save(ref / f"{i}.png")
    prompts = select(load_prompts(), category="Indoor Scenes", limit=3)
    totals = run_p2(
        generator,
        tmp_path / "run",
        prompts,
        n=2,
        sample=SampleConfig(),
        progress=False,
        fid_ref=ref,
        fid_weights=weights,
    )
    assert totals["fid"]["images"] == 6 and totals["fid"]["reference_images"] == 6
    assert np.isfinite(totals["fid"]["fid"]) and totals["fid"]["fid"] > 0
    assert "FID " in (tmp_path / "run" / "index.html").read_text()
