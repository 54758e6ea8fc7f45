"""Generation front end: bundles, `vim generate`, prompt checks, the faithfulness table."""

import dataclasses
import functools
import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vim.bundle import DEFAULT_BUNDLE, load_bundle
from vim.cli import main
from vim.config import SampleConfig, TrainConfig
from vim.generate import Generator, PromptError, check_prompt, draw_images
from vim.metrics.faithfulness import faithfulness_table, markdown
from vim.sharding import padded_rows

from .conftest import fake_devices_env


@pytest.fixture(scope="module")
def generator(small_bundle):
    return Generator(load_bundle(small_bundle), batch_size=4)


def test_bundle_holds_ema_weights_and_card(small_bundle):
    bundle = load_bundle(small_bundle)
    assert bundle.parti is not None and bundle.text is not None
    assert bundle.card["tokenizer"]["step"] == 3 and bundle.card["parti"]["step"] == 4
    size = sum(f.stat().st_size for f in small_bundle.rglob("*") if f.is_file())
    assert size < 2_000_000  # weights only, no optimizer state


def test_generator_images_and_seeds(generator):
    prompts = ["a red circle", "two big blue squares above a green star", "a yellow heart"]
    out = generator(prompts, [0, 1, 2], SampleConfig(cfg_scale=3.0))
    assert out["images"].shape == (3, 64, 64, 3) and out["images"].dtype == np.uint8
    again = generator(prompts[:1], [0], SampleConfig(cfg_scale=3.0))
    np.testing.assert_array_equal(again["codes"][0], out["codes"][0])  # batch-mates do not matter
    other = generator(prompts[:1], [99], SampleConfig(cfg_scale=3.0, temperature=3.0))
    assert (other["codes"][0] != out["codes"][0]).any()


def test_padded_rows_are_powers_of_two_from_the_smallest_batch_up_to_the_batch():
    assert [padded_rows(n, 16) for n in (1, 2, 3, 5, 9, 16, 40)] == [1, 2, 4, 8, 16, 16, 16]
    assert [padded_rows(n, 16, 8) for n in (1, 8, 9, 16)] == [8, 8, 16, 16]
    assert [padded_rows(n, 12, 4) for n in (3, 5, 9)] == [4, 8, 12]  # capped at the batch
    assert padded_rows(3, 16, 16) == 16  # smallest = batch: one shape
    for bad in [(0, 16, 1), (3, 4, 8), (3, 16, 0)]:
        with pytest.raises(ValueError, match="padded_rows"):
            padded_rows(*bad)


def test_a_generator_pads_few_prompts_to_a_smaller_batch_and_draws_the_same(small_bundle, generator):
    bucketed = Generator(load_bundle(small_bundle), batch_size=8, smallest_batch=2)
    assert (bucketed.batch_size, bucketed.smallest_batch) == (8, 2)
    prompts = ["a red circle", "two big blue squares above a green star", "a yellow heart"] * 4
    full = generator(prompts, list(range(12)), SampleConfig(cfg_scale=2.0))["codes"]  # chunks of 4
    for n in (1, 3, 12):  # padded to 2, 4, then 8 + 4
        out = bucketed(prompts[:n], list(range(n)), SampleConfig(cfg_scale=2.0))
        np.testing.assert_array_equal(out["codes"], full[:n])
        assert out["images"].shape[0] == n
    assert bucketed._runs[True]._cache_size() == 3  # shapes 2, 4 and 8 compiled, nothing per call
    with pytest.raises(ValueError, match="smallest_batch must be ≥ 1"):
        Generator(load_bundle(small_bundle), batch_size=8, smallest_batch=0)  # not read as "full batches only"


def test_a_caption_views_model_draws_from_each_prompts_two_views(small_bundle, generator):
    import copy

    import jax.numpy as jnp

    from vim.parti.sample import sample_codes, settings_arrays
    from vim.world.captions import attribute_views

    bundle = load_bundle(small_bundle)
    bundle.parti_cfg = copy.deepcopy(bundle.parti_cfg)
    bundle.parti_cfg.parti.text_views = "shapes-attributes"
    views_generator = Generator(bundle, batch_size=4)
    prompts, seeds = ["a red circle", "two big blue squares above a green star"], [3, 4]
    sample = SampleConfig(cfg_scale=2.0)
    ids, truncated = views_generator.encode(prompts)
    assert ids.shape == (2, 2, bundle.parti_cfg.parti.text_length) and not truncated.any()
    np.testing.assert_array_equal(ids[1], bundle.text.encode(list(attribute_views(prompts[1])), ids.shape[-1]).ids)
    out = views_generator(prompts, seeds, sample)
    expected = sample_codes(bundle.parti, jnp.asarray(ids), jnp.asarray(seeds, jnp.uint32), settings_arrays(sample))
    np.testing.assert_array_equal(out["codes"], np.asarray(expected))
    assert (out["codes"] != generator(prompts, seeds, sample)["codes"]).any()  # not the full caption's draw


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("", "prompt is empty"),
        ("   \n", "prompt is empty"),
        ("a red\x07 circle", "control character U+0007 at position 5"),
        ("a red \udcff circle", "invalid UTF-8 byte 0xFF at position 6"),  # an invalid UTF-8 byte from argv
        ("x" * 10_000, "10000 characters; the limit is 2000"),
    ],
)
def test_bad_prompts_are_refused_with_a_reason(prompt, message):
    with pytest.raises(PromptError, match=re.escape(message)):
        check_prompt(prompt)


def test_cli_generate_writes_pngs_and_sidecars(small_bundle, tmp_path, capsys):
    out = tmp_path / "out"
    long_prompt = " ".join(["a small red circle left of a big blue square"] * 6)  # > 32 text tokens
    argv = ["generate", "a red circle", long_prompt, "-n", "2", "--cfg", "2", "--top-k", "8", "--top-p", "0.9"]
    assert main([*argv, "--seed", "5", "--checkpoint", str(small_bundle), "-o", str(out)]) == 0
    pngs, sidecars = sorted(out.glob("*.png")), sorted(out.glob("*.json"))
    assert len(pngs) == 4 and len(sidecars) == 4
    first = json.loads(sidecars[0].read_text())
    assert first["prompt"] == "a red circle" and first["seed"] == 5 and first["image"] == pngs[0].name
    settings = {"cfg_scale": 2.0, "temperature": 1.0, "top_k": 8, "top_p": 0.9, "candidate_cfg_scales": []}
    assert first["settings"] == settings
    assert first["checkpoint"] == str(small_bundle) and not first["text_truncated"]
    assert json.loads(sidecars[2].read_text())["text_truncated"]
    assert "was cut to 32 text tokens" in capsys.readouterr().out


def test_cli_generate_refuses_bad_input_before_any_work(small_bundle, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["generate", "a red circle", "bad\x1b[31m", "--checkpoint", str(small_bundle), "-o", str(out)]) == 2
    assert "prompt 2: prompt contains control character U+001B" in capsys.readouterr().err
    assert not out.exists()
    assert main(["generate", "a red circle", "--top-p", "0", "--checkpoint", str(small_bundle), "-o", str(out)]) == 2
    assert "top-p 0.0" in capsys.readouterr().err
    assert main(["generate", "a red circle", "--checkpoint", str(tmp_path / "nowhere")]) == 2
    assert "is not a vim bundle" in capsys.readouterr().err


def test_faithfulness_table(generator, small_cfg):
    table = faithfulness_table(functools.partial(draw_images, generator), small_cfg.data.world, [1.0, 3.0], n=6)
    assert [r["cfg_scale"] for r in table["rows"]] == [1.0, 3.0]
    for row in table["rows"]:
        assert all(0.0 <= row[k] <= 1.0 for k in ("exact", "count", "shape", "color", "size", "relation"))
    assert table["best"] in table["rows"]
    text = markdown(table)
    assert text.count("\n") == 13 and "| seen pairs: count |" in text  # two rows in each of the three tables
    assert "| seen pairs that ask: size |" in text
    natural = faithfulness_table(
        functools.partial(draw_images, generator), small_cfg.data.world, [1.0], 4, split="natural"
    )
    assert natural["split"] == "natural" and natural["examples"] == 4
    with pytest.raises(ValueError, match="rendered test split"):
        faithfulness_table(
            functools.partial(draw_images, generator), small_cfg.data.world, [1.0], 4, fid_images=4, split="natural"
        )


def test_match_rates_split_seen_pairs_by_caption_kind():
    """Rendered test images match their captions; blanking the two-group ones fails exactly that kind."""
    from vim.config import WorldConfig
    from vim.metrics.faithfulness import CAPTION_KINDS, caption_kind, match_rates
    from vim.world.captions import parse_caption
    from vim.world.dataset import make_example
    from vim.world.parser import ATTRIBUTES

    world = WorldConfig()
    examples = [make_example(world, "test", i) for i in range(60)]
    kinds = [caption_kind(parse_caption(ex["caption"])) for ex in examples]
    seen = [not ex["heldout"] for ex in examples]
    assert {k for k, s in zip(kinds, seen, strict=True) if s} == set(CAPTION_KINDS)
    images = np.stack([ex["image"] for ex in examples])
    rendered = dict(match_rates(images, examples))
    assert rendered["exact"] == 1.0 and all(rendered[f"seen_{a}"] == 1.0 for a in ATTRIBUTES)
    blank = images[0] * 0 + 40  # a plain dark image: no objects to parse
    images[[k == "two_groups" for k in kinds]] = blank
    rates = dict(match_rates(images, examples))
    assert rates["exact_seen_two_groups"] == 0.0
    assert rates["exact_seen_one_object"] == rates["exact_seen_one_group"] == 1.0
    assert rates["exact"] == pytest.approx(1 - kinds.count("two_groups") / len(kinds))
    seen_two_groups = sum(k == "two_groups" and s for k, s in zip(kinds, seen, strict=True))
    assert rates["seen_count"] == pytest.approx(1 - seen_two_groups / sum(seen))  # a blank image has no objects


def test_cli_eval_faithfulness(small_bundle, tmp_path, capsys):
    out = tmp_path / "f.json"
    argv = ["eval", "faithfulness", "--checkpoint", str(small_bundle), "--scales", "1,4", "-n", "4", "-o", str(out)]
    argv += ["--fid-images", "0"]  # world FID is tested in test_metrics.py
    assert main(argv) == 0
    assert "| CFG scale |" in capsys.readouterr().out
    table = json.loads(out.read_text())
    assert [r["cfg_scale"] for r in table["rows"]] == [1.0, 4.0] and table["examples"] == 4


NATURAL_PROMPTS = ("a red circle", "a big blue square", "two green stars")  # what a new user types first


@pytest.mark.skipif(not (DEFAULT_BUNDLE / "parti").is_dir(), reason="bundled checkpoint not trained yet")
def test_the_bundle_draws_short_natural_prompts(tmp_path):
    """`vim generate PROMPTS -n 8 --seed 0` at the bundle's settings: how many of each prompt's 8 images show
    what it asks for, by the scene parser on the saved pixels."""
    from vim.world.parser import match_caption

    assert main(["generate", *NATURAL_PROMPTS, "-n", "8", "--seed", "0", "-o", str(tmp_path)]) == 0
    right = dict.fromkeys(NATURAL_PROMPTS, 0)
    for sidecar_path in sorted(tmp_path.glob("*.json")):
        sidecar = json.loads(sidecar_path.read_text())
        assert sidecar["checkpoint"] == str(DEFAULT_BUNDLE)
        with Image.open(sidecar_path.with_suffix(".png")) as im:
            right[sidecar["prompt"]] += match_caption(np.asarray(im.convert("RGB")), sidecar["prompt"])["exact"]
    # The aim is 7 of 8 for each. "two green stars" falls short: 46 of 64 right over seeds 1000-1063 (the
    # generator before this one: 34 of 64), so this checks it does not slip below what these seeds draw today.
    least = {"a red circle": 7, "a big blue square": 7, "two green stars": 5}
    assert all(right[p] >= least[p] for p in NATURAL_PROMPTS), right


def test_the_model_card_is_short_and_has_its_sections():
    card = (DEFAULT_BUNDLE / "README.md").read_text()
    assert len(card.encode()) <= 4096, f"the model card has {len(card.encode())} bytes; keep it to 4 KB"
    headings = re.findall(r"^## (.+)$", card, re.M)
    assert headings == ["Use", "Parts", "Evaluation", "Reproduce"], headings
    assert not re.search(r"issue \d|session|\.\./", card, re.I)  # no ticket numbers, work periods, outside paths


# Codes the bundle drew, recorded with `python -m tests.test_generate`.
PINS = Path(__file__).with_name("bundle_pins.json")


def bundle_pins() -> dict:
    """The bundle's codes for a few prompts × seeds at its own settings, and the weights that drew them."""
    bundle = load_bundle(DEFAULT_BUNDLE)
    prompts = [p for p in (*NATURAL_PROMPTS, "a star to the left of a heart") for _ in range(2)]
    seeds = [0, 1] * (len(prompts) // 2)
    codes = Generator(bundle, batch_size=8)(prompts, seeds, bundle.parti_cfg.sample)["codes"]
    weights = hashlib.sha256((DEFAULT_BUNDLE / "parti" / "params.npz").read_bytes()).hexdigest()
    return {"parti_params_sha256": weights, "prompts": prompts, "seeds": seeds, "codes": codes.tolist()}


@pytest.mark.skipif(not (DEFAULT_BUNDLE / "parti").is_dir(), reason="bundled checkpoint not trained yet")
def test_the_bundle_draws_the_codes_recorded_for_it():
    """Refactoring keeps behaviour: the same prompts and seeds give the codes recorded from these weights."""
    recorded, now = json.loads(PINS.read_text()), bundle_pins()
    assert now["parti_params_sha256"] == recorded["parti_params_sha256"], (
        "the bundled generator changed: record its codes again with `python -m tests.test_generate`"
    )
    assert now["codes"] == recorded["codes"]


DATA_PARALLEL = """
import json, sys
import numpy as np
from PIL import Image
import jax
from vim.bundle import load_bundle
from vim.config import SampleConfig, TrainConfig
from vim.generate import Generator

generator = Generator(load_bundle(sys.argv[1]), batch_size=8)
out = generator(["a red circle", "two blue squares"] * 3, list(range(6)), SampleConfig(cfg_scale=3.0, top_k=16))
print(json.dumps({"devices": generator.mesh.devices.size, "codes": np.asarray(out["codes"]).tolist()}))
"""


def test_generation_is_data_parallel_over_8_devices(small_bundle, generator):
    import subprocess
    import sys

    env = fake_devices_env(8)
    out = subprocess.run(
        [sys.executable, "-c", DATA_PARALLEL, str(small_bundle)], capture_output=True, text=True, env=env, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["devices"] == 8
    single = generator(["a red circle", "two blue squares"] * 3, list(range(6)), SampleConfig(cfg_scale=3.0, top_k=16))
    np.testing.assert_array_equal(np.array(r["codes"]), single["codes"])


@pytest.fixture(scope="module")
def full_bundle(small_bundle, tmp_path_factory):
    """The small bundle plus an (untrained) scorer and upsampler in `scorer/` and `upsampler/`."""
    import shutil

    from flax import nnx

    from tests.test_rerank import SMALL_SCORER
    from tests.test_upsample import SMALL_UP
    from vim.bundle import save_params
    from vim.config import Config, to_dict
    from vim.rerank.model import DualEncoder
    from vim.training.checkpoint import dump_json
    from vim.upsample.model import WDSR

    path = tmp_path_factory.mktemp("full") / "bundle"
    shutil.copytree(small_bundle, path)
    for part in ("scorer", "upsampler"):  # parts keep their architecture in config.json's section
        (path / part).mkdir()
        dump_json(path / part / "config.json", to_dict(Config(scorer=SMALL_SCORER, upsampler=SMALL_UP)))
    save_params(
        nnx.to_pure_dict(nnx.state(DualEncoder(SMALL_SCORER, rngs=nnx.Rngs(0)))), path / "scorer" / "params.npz"
    )
    shutil.copy(path / "text_tokenizer.model", path / "scorer" / "text_tokenizer.model")
    save_params(nnx.to_pure_dict(nnx.state(WDSR(SMALL_UP, rngs=nnx.Rngs(0)))), path / "upsampler" / "params.npz")
    return path


def test_cli_generate_reranks_candidates_and_upsamples(full_bundle, tmp_path):
    argv = ["generate", "a red circle", "-n", "2", "--candidates", "6", "--upsample", "--seed", "10"]
    assert main([*argv, "--checkpoint", str(full_bundle), "-o", str(tmp_path)]) == 0
    sidecars = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("*.json"))]
    assert len(sidecars) == 2
    candidates = sidecars[0]["rerank"]["candidates"]
    assert [c["seed"] for c in candidates] == list(range(10, 16))
    best_two = sorted(candidates, key=lambda c: -c["score"])[:2]
    assert [s["seed"] for s in sidecars] == [c["seed"] for c in best_two]  # the top-scoring ones, best first
    assert [s["rerank"]["rank"] for s in sidecars] == [0, 1] and all(s["upsampled"] for s in sidecars)
    with Image.open(tmp_path / sidecars[0]["image"]) as im:
        assert im.size == (128, 128)


def test_candidate_plan_draws_each_seed_at_every_pooled_scale():
    from vim.generate import candidate_plan, check_settings, seeds_per_prompt

    pooled = SampleConfig(cfg_scale=1.5, candidate_cfg_scales=(1.0, 3.0))
    assert candidate_plan(pooled, 6) == [(0, 1.0), (1, 1.0), (2, 1.0), (0, 3.0), (1, 3.0), (2, 3.0)]
    assert seeds_per_prompt(pooled, 6) == 3
    assert candidate_plan(SampleConfig(cfg_scale=2.0), 3) == [(0, 2.0), (1, 2.0), (2, 2.0)]
    assert seeds_per_prompt(SampleConfig(), 6) == 6
    with pytest.raises(ValueError, match="do not split evenly"):
        candidate_plan(pooled, 5)
    with pytest.raises(ValueError, match="candidate cfg scales"):
        check_settings(SampleConfig(candidate_cfg_scales=(1.0, -2.0)))


def test_cli_generate_pools_candidates_over_scales_and_records_how_to_redraw_each(full_bundle, tmp_path, capsys):
    # Two guided scales: one compiled program draws both.
    argv = ["generate", "a red circle", "-n", "2", "--candidates", "6", "--candidate-scales", "2,3", "--seed", "10"]
    assert main([*argv, "--checkpoint", str(full_bundle), "-o", str(tmp_path)]) == 0
    sidecars = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("*.json"))]
    candidates = sidecars[0]["rerank"]["candidates"]
    assert [(c["seed"], c["cfg_scale"]) for c in candidates] == [(s, x) for x in (2.0, 3.0) for s in (10, 11, 12)]
    best_two = sorted(candidates, key=lambda c: -c["score"])[:2]
    kept = [(s["seed"], s["settings"]["cfg_scale"]) for s in sidecars]
    assert kept == [(c["seed"], c["cfg_scale"]) for c in best_two]  # the top-scoring of all six, best first
    # Each sidecar's settings draw its image again on their own: its scale, no pool.
    bundle = load_bundle(full_bundle)
    generator = Generator(bundle, batch_size=2)
    for record in sidecars:
        assert record["settings"]["candidate_cfg_scales"] == []
        settings = SampleConfig(**{k: v for k, v in record["settings"].items() if k != "candidate_cfg_scales"})
        again = generator([record["prompt"]], [record["seed"]], settings)["images"][0]
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / record["image"])), again)
    # A pool needs something to choose among; eval pools one row only.
    assert main(["generate", "a red circle", "--candidate-scales", "1,3", "--checkpoint", str(full_bundle)]) == 2
    assert "give --candidates too" in capsys.readouterr().err
    bad = ["eval", "faithfulness", "-n", "2", "--candidates", "2", "--candidate-scales", "1,3", "--scales", "1,2"]
    assert main([*bad, "--checkpoint", str(full_bundle)]) == 2
    assert "at most one --scales" in capsys.readouterr().err


def test_export_records_the_demos_candidates_and_the_demo_reranks_that_many(full_bundle, tmp_path, capsys):
    from vim.demo.app import MAX_CANDIDATES, Demo

    out = tmp_path / "bundle"
    shutil.copytree(full_bundle, out)
    assert Demo(load_bundle(out)).default_candidates == MAX_CANDIDATES  # no recommendation: the most it draws
    assert main(["export", "--tokenizer", str(out / "tokenizer"), "-o", str(out), "--candidates", "8"]) == 0
    assert json.loads((out / "card.json").read_text())["demo"] == {"candidates": 8}
    assert (out / "parti" / "params.npz").read_bytes() == (full_bundle / "parti" / "params.npz").read_bytes()
    assert Demo(load_bundle(out)).default_candidates == 8
    assert main(["export", "--tokenizer", str(out / "tokenizer"), "-o", str(out), "--candidates", "1"]) == 2
    assert "--candidates must be 2..16, got 1" in capsys.readouterr().err
    card = json.loads((out / "card.json").read_text())
    (out / "card.json").write_text(json.dumps(card | {"demo": {"candidates": 32}}))
    with pytest.raises(ValueError, match=re.escape("recommends 32 candidates; the demo reranks 2..16")):
        Demo(load_bundle(out))


def test_faithfulness_with_reranking(full_bundle, small_cfg):
    bundle = load_bundle(full_bundle)
    draw = functools.partial(draw_images, Generator(bundle, batch_size=8), candidates=3, reranker=bundle.reranker())
    table = faithfulness_table(draw, small_cfg.data.world, [3.0], n=4, candidates=3)
    assert table["candidates"] == 3 and 0.0 <= table["rows"][0]["exact"] <= 1.0


@pytest.fixture(scope="module")
def stream_run(small_cfg, small_bundle, tmp_path_factory):
    """A small Parti trained 3 steps on the world rendered on demand, on the small bundle's tokenizer part."""
    from vim.parti.train import train_and_evaluate

    cfg = dataclasses.replace(small_cfg)
    cfg.data = dataclasses.replace(small_cfg.data, dataset="shapes-stream")
    cfg.data.world = dataclasses.replace(small_cfg.data.world, num_train=10**8)  # nothing to build: any size
    cfg.text = dataclasses.replace(small_cfg.text, model_path=str(small_bundle / "text_tokenizer.model"))
    cfg.parti = load_bundle(small_bundle).parti_cfg.parti
    cfg.train = SMALL_TRAIN
    workdir = tmp_path_factory.mktemp("parti-stream")
    summary = train_and_evaluate(cfg, workdir, small_bundle / "tokenizer")
    return cfg, workdir, summary


SMALL_TRAIN = TrainConfig(num_steps=3, warmup_steps=1, eval_every=3, eval_batches=1, progress=False)


def test_streamed_parti_trains_on_the_tokenizers_codes_of_rendered_examples(stream_run, small_bundle):
    import jax.numpy as jnp

    from vim.data.pipeline import make_batches
    from vim.parti.train import PartiTask
    from vim.world.dataset import make_example

    cfg, _, summary = stream_run
    assert summary["step"] == 3 and np.isfinite(summary["nll_per_token"])
    bundle = load_bundle(small_bundle)
    batch = next(make_batches(cfg, "validation", shuffle=False, num_epochs=1))
    rendered = np.stack([make_example(cfg.data.world, "validation", i)["image"] for i in range(len(batch["image"]))])
    np.testing.assert_array_equal(batch["image"], rendered)  # example i is the world's example i
    codes = PartiTask(cfg, tokenizer=bundle.tokenizer).codes({"image": jnp.asarray(batch["image"])})
    expected = bundle.tokenizer.encode(jnp.asarray(rendered, jnp.float32) / 255.0).reshape(len(rendered), -1)
    np.testing.assert_array_equal(codes, expected)


def test_streamed_run_resumes_and_trains_longer(stream_run, small_bundle, tmp_path):
    """grain checks a restored iterator against repr(data_source): an object address there broke resume."""
    import shutil

    from vim.parti.train import train_and_evaluate

    cfg, workdir, _ = stream_run
    resumed = tmp_path / "run"
    shutil.copytree(workdir, resumed)
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, num_steps=4))  # num_steps is resume-safe
    logged = len((resumed / "metrics.jsonl").read_text().splitlines())
    summary = train_and_evaluate(cfg, resumed, small_bundle / "tokenizer")
    assert summary["step"] == 4
    steps = [json.loads(line)["step"] for line in (resumed / "metrics.jsonl").read_text().splitlines()]
    assert steps[logged:] and set(steps[logged:]) == {4}  # continued from step 3, did not start over


def test_streamed_parti_trains_a_product_of_caption_views(stream_run, small_bundle, tmp_path):
    from vim.parti.train import train_and_evaluate

    cfg = dataclasses.replace(stream_run[0])
    cfg.parti = dataclasses.replace(cfg.parti, text_views="shapes-attributes")
    cfg.train = dataclasses.replace(SMALL_TRAIN, num_steps=2, eval_every=2)
    summary = train_and_evaluate(cfg, tmp_path, small_bundle / "tokenizer")  # batches carry text_ids_views
    assert summary["step"] == 2 and np.isfinite(summary["nll_per_token"])
    assert json.loads((tmp_path / "config.json").read_text())["parti"]["text_views"] == "shapes-attributes"


def test_stream_without_a_text_model_path_says_what_to_set(small_cfg):
    from vim.data.pipeline import text_tokenizer_path

    cfg = dataclasses.replace(small_cfg)
    cfg.data = dataclasses.replace(small_cfg.data, dataset="shapes-stream")
    with pytest.raises(ValueError, match=re.escape("set text.model_path")):
        text_tokenizer_path(cfg)


def test_export_from_a_tokenizer_part_with_recommended_sampling(stream_run, small_bundle, tmp_path):
    _, workdir, _ = stream_run
    out = tmp_path / "bundle"
    assert main(["export", "--tokenizer", str(small_bundle / "tokenizer"), "--parti", str(workdir), "--cfg", "2.5",
                 "--top-k", "7", "-o", str(out)]) == 0  # fmt: skip
    bundle = load_bundle(out)
    assert (bundle.parti_cfg.sample.cfg_scale, bundle.parti_cfg.sample.top_k) == (2.5, 7)
    assert (out / "tokenizer" / "params.npz").read_bytes() == (small_bundle / "tokenizer" / "params.npz").read_bytes()
    assert bundle.card["parti"]["step"] == 3
    assert main(["generate", "a red circle", "--checkpoint", str(out), "-o", str(tmp_path / "a")]) == 0
    sidecars = sorted((tmp_path / "a").glob("*_seed*.json"))
    assert sidecars
    for sidecar in sidecars:
        settings = json.loads(sidecar.read_text())["settings"]
        assert settings == {"cfg_scale": 2.5, "temperature": 1.0, "top_k": 7, "top_p": 1.0, "candidate_cfg_scales": []}
    argv = ["generate", "a red circle", "--cfg", "1", "--checkpoint", str(out), "-o", str(tmp_path / "b")]
    assert main(argv) == 0
    sidecars = sorted((tmp_path / "b").glob("*_seed*.json"))
    assert sidecars
    for sidecar in sidecars:
        assert json.loads(sidecar.read_text())["settings"]["cfg_scale"] == 1.0  # a flag given wins


if __name__ == "__main__":  # record the bundle's codes after the bundle itself changed
    PINS.write_text(json.dumps(bundle_pins()) + "\n")
