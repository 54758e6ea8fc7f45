"""The Gradio demo served on loopback, driven with gradio_client as a user's browser would."""

import json
import random
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from vim.bundle import DEFAULT_BUNDLE, load_bundle
from vim.config import SampleConfig, WorldConfig
from vim.demo.app import Demo, build_app, server_kwargs
from vim.generate import write_images
from vim.upsample.infer import Upsampler
from vim.world.dataset import make_example
from vim.world.parser import ATTRIBUTES, match_caption


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo(small_bundle):
    demo = Demo(load_bundle(small_bundle))
    demo.warm_up()
    yield demo
    demo.close()


@pytest.fixture(scope="module")
def served(demo):
    app = build_app(demo, queue_size=2)
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **server_kwargs(demo))
    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    yield client, port
    client.close()
    app.close()


def generate(client, prompt="a big red circle left of a small blue square", n=3, **kw):
    args = {
        "cfg_scale": 3.0,
        "temperature": 1.0,
        "top_k": 0,
        "top_p": 1.0,
        "seed": 0,
        "candidates": 0,
        "upsample": False,
    } | kw
    return client.predict(prompt, n, *args.values(), api_name="/generate")


def test_a_prompt_returns_n_images(served):
    gallery, note, files = generate(served[0], n=3, seed=11)
    assert len(gallery) == 3 and len(files) == 3
    for item in gallery:
        with Image.open(item["image"]) as im:
            assert im.size == (64, 64)
    with Image.open(files[0]) as im:
        assert '"seed": 11' in im.text["vim"]  # settings travel inside the PNG
    assert "3 image(s) in" in note and "seeds 11, 12, 13" in note


def test_png_metadata_is_the_record_vim_generate_writes(demo, tmp_path):
    """The demo's PNG says what `vim generate`'s sidecar says for the same prompt, seed and settings (all
    but the time it took, and the checkpoint by name only: the PNGs leave the machine, its paths need not)."""
    prompt = "two small yellow stars above a big green heart"
    _, _, files = demo.generate(prompt, 2, 2.0, 0.9, 5, 0.95, 7)
    sidecars = write_images(tmp_path, [prompt], 2, 7, SampleConfig(2.0, 0.9, 5, 0.95), demo.generator, progress=False)
    assert len(files) == len(sidecars) == 2
    for file, sidecar in zip(files, sidecars, strict=True):
        with Image.open(file) as im:
            shown = json.loads(im.text["vim"])
        assert json.loads((tmp_path / sidecar["image"]).with_suffix(".json").read_text()) == sidecar
        assert Path(file).name == sidecar["image"]
        assert shown.pop("seconds") >= 0 and sidecar.pop("seconds") >= 0
        assert shown.pop("checkpoint") == demo.bundle.path.name and sidecar.pop("checkpoint") == str(demo.bundle.path)
        assert shown == sidecar
        with Image.open(file) as im:
            assert str(demo.bundle.path.parent) not in json.dumps(im.text)


VERDICT = re.compile(r"([✓✗]) (count|shape|color|size|relation|exact)\b")


def verdict_of(caption: str) -> dict[str, bool]:
    return {name: mark == "✓" for mark, name in VERDICT.findall(caption)}


def test_in_grammar_prompt_shows_the_parsers_verdict_per_image(served):
    prompt = "two small yellow stars above a big green heart"
    gallery, note, files = generate(served[0], prompt, n=4, seed=5)
    exact = 0
    for item, file in zip(gallery, files, strict=True):
        shown = verdict_of(item["caption"])
        assert list(shown) == [*ATTRIBUTES, "exact"], item["caption"]  # all five, in order, then the overall call
        with Image.open(file) as im:
            judged = match_caption(np.asarray(im.convert("RGB")), prompt)  # the judge, rerun on the saved pixels
            assert json.loads(im.text["faithfulness"]) == judged
        assert shown == judged
        exact += judged["exact"]
    assert f"{exact} of 4 image(s) match the prompt exactly" in note, note


def test_out_of_grammar_prompt_says_it_cannot_be_checked(served):
    gallery, note, files = generate(served[0], "A giraffe wearing a bow tie", n=2)
    assert "outside the shapes-world grammar" in note and "cannot be checked" in note, note
    assert "match the prompt" not in note
    assert not any(re.search("[✓✗]", item["caption"]) for item in gallery)
    for file in files:
        with Image.open(file) as im:
            assert json.loads(im.text["faithfulness"]) is None


@pytest.mark.parametrize("upsample", [False, True])
def test_verdict_is_right_on_known_scenes_at_both_sizes(demo, monkeypatch, upsample):
    """The model stands in for rendered world scenes: one is the prompt's scene, one another scene. The
    verdict must call the first exact and the second not, also on the ×2 upsampler's 128 px output."""
    first, other = (make_example(WorldConfig(), "test", i) for i in (0, 1))
    prompt = first["caption"]
    assert not match_caption(other["image"], prompt)["exact"]  # the second scene really is a wrong picture

    def scenes(prompts, seeds, sample, infill=None):
        return {"images": np.stack([first["image"], other["image"]])[: len(prompts)], "truncated": np.array([False])}

    monkeypatch.setattr(demo, "generator", scenes)
    if upsample:
        monkeypatch.setattr(demo, "upsampler", Upsampler(DEFAULT_BUNDLE / "upsampler"))
    gallery, note, files = demo.generate(prompt, 2, 3.0, 1.0, 0, 1.0, 0, upsample=upsample)
    with Image.open(files[0]) as im:
        assert im.size == ((128, 128) if upsample else (64, 64))
    right, wrong = (verdict_of(caption) for _, caption in gallery)
    assert right == dict.fromkeys([*ATTRIBUTES, "exact"], True), gallery[0][1]
    assert not wrong["exact"] and not all(wrong[a] for a in ATTRIBUTES), gallery[1][1]
    assert "1 of 2 image(s) match the prompt exactly" in note, note


def test_a_short_natural_prompt_is_judged_on_what_it_asks(demo, monkeypatch):
    """A prompt like "a red circle" names no size or place: the verdict checks count, shape and color, says the
    other two are not asked, and calls a lone object of that color and shape exact, two objects not."""

    def with_objects(n: int) -> dict:
        examples = (make_example(WorldConfig(), "test", i) for i in range(100))
        return next(ex for ex in examples if len(json.loads(ex["scene"])["objects"]) == n)

    lone, two = with_objects(1), with_objects(2)
    obj = json.loads(lone["scene"])["objects"][0]
    prompt = f"a {obj['color']} {obj['shape']}"

    def scenes(prompts, seeds, sample, infill=None):
        return {"images": np.stack([lone["image"], two["image"]])[: len(prompts)], "truncated": np.array([False])}

    monkeypatch.setattr(demo, "generator", scenes)
    gallery, note, _ = demo.generate(prompt, 2, 3.0, 1.0, 0, 1.0, 0)
    right, wrong = (caption for _, caption in gallery)
    assert "size: not asked" in right and "relation: not asked" in right, right
    assert verdict_of(right) == {"count": True, "shape": True, "color": True, "exact": True}, right
    assert verdict_of(wrong)["count"] is False and verdict_of(wrong)["exact"] is False, wrong
    assert "1 of 2 image(s) match the prompt exactly" in note, note


def test_checkpoints_off_the_shapes_world_are_not_judged(demo, monkeypatch):
    monkeypatch.setattr(demo, "checks_faithfulness", False)
    gallery, note, _ = demo.generate("a big red circle", 1, 3.0, 1.0, 0, 1.0, 0)
    assert "not trained on the shapes world" in note and not re.search("[✓✗]", gallery[0][1])


@pytest.mark.parametrize(
    ("prompt", "kw", "message"),
    [
        ("", {}, "prompt is empty"),
        ("a red\x00circle", {}, "control character U+0000"),
        ("x" * 10_000, {}, "10000 characters"),
        ("a red \ufffd circle", {}, "invalid UTF-8 byte at position 6"),  # U+FFFD: bytes lost in a lossy decode
        ("a red circle", {"n": 50}, "Value 50 is greater than maximum value 8"),  # Gradio's own slider check
        ("a red circle", {"top_p": 0.0}, "Value 0.0 is less than minimum value 0.05"),
        ("a red circle", {"seed": -5}, "seed must be -1 (random) or 0..2³¹−1, got -5"),
        ("a red circle", {"candidates": 8}, "this checkpoint has no scorer, so it cannot rerank candidates"),
        ("a red circle", {"upsample": True}, "this checkpoint has no upsampler"),
    ],
)
def test_bad_input_gives_a_clear_error(served, prompt, kw, message):
    with pytest.raises(Exception, match=re.escape(message)):
        generate(served[0], prompt, **kw)


def test_invalid_utf8_over_raw_http_is_refused_and_the_demo_stays_alive(served):
    """What gradio_client and browsers cannot send (they encode strict UTF-8), any HTTP client can: a lone
    surrogate escaped in JSON (how Python spells an undecodable byte) and raw non-UTF-8 bytes in the body."""
    client, port = served
    base = f"http://127.0.0.1:{port}/gradio_api/call/generate"
    headers = {"content-type": "application/json"}
    settings = b"1, 3.0, 1.0, 0, 1.0, 0, 0, false]}"
    escaped = httpx.post(base, content=b'{"data": ["a red \\udcff circle", ' + settings, headers=headers)
    event = escaped.json()["event_id"]
    stream = httpx.get(f"{base}/{event}", timeout=120).text
    assert "event: error" in stream and "invalid UTF-8 byte 0xFF at position 6" in stream, stream
    raw = httpx.post(base, content=b'{"data": ["a red \xff circle", ' + settings, headers=headers)
    assert 400 <= raw.status_code < 500, (raw.status_code, raw.text)  # refused as a bad request, no crash
    gallery, _, _ = generate(client, n=1)
    assert len(gallery) == 1  # still serving


def test_non_image_upload_is_refused_and_images_round_trip(served, tmp_path):
    client, _ = served
    bad = tmp_path / "notes.png"
    bad.write_text("not an image at all")
    with pytest.raises(Exception, match=r"could not read notes\.png as an image"):
        client.predict(handle_file(str(bad)), api_name="/reconstruct")
    good = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 120, 3), np.uint8)).save(good)
    original, recon, code_map, stats = client.predict(handle_file(str(good)), api_name="/reconstruct")
    for path, side in ((original, 64), (recon, 64), (code_map, 256)):
        with Image.open(path) as im:
            assert im.size == (side, side)
    assert "PSNR" in stats and "distinct codes" in stats
    assert re.search(r"LPIPS \d+\.\d{4} ·", stats) or "LPIPS unavailable (no LPIPS weights found" in stats


def test_overload_is_refused_cleanly_and_the_server_recovers(served):
    client, _ = served
    with ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(generate, client, n=8, seed=i) for i in range(12)]
        outcomes = []
        for f in futures:
            try:
                outcomes.append(len(f.result(timeout=300)[0]))
            except Exception as e:  # refused by the bounded queue
                outcomes.append(str(e))
    served_ok = [o for o in outcomes if o == 8]
    refused = [o for o in outcomes if isinstance(o, str)]
    assert served_ok and refused, outcomes
    assert all("queue" in r.lower() for r in refused), refused
    time.sleep(0.5)
    assert len(generate(client, n=1)[0]) == 1  # still healthy


def test_bound_to_loopback_only(served):
    _, port = served
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                listening.append(local.rsplit(":", 1)[0])
    assert listening == ["0100007F"], listening  # 127.0.0.1, and nothing on other interfaces


def test_the_serving_cache_stays_bounded_through_uploads_and_generations(served, demo, tmp_path, monkeypatch):
    """Gradio keeps every upload and result: the demo prunes its private cache, oldest first, after every
    upload and request. Uploads straight to the upload route (no handler ever runs) are bounded too."""
    client, port = served
    bound = 12
    monkeypatch.setattr(demo.cache, "max_files", bound)
    rng = np.random.default_rng(0)
    counts = []
    for i in range(8):
        photo = tmp_path / f"photo{i}.png"
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), np.uint8)).save(photo)
        client.predict(handle_file(str(photo)), api_name="/reconstruct")
        generate(client, n=2, seed=i)
        counts.append(len(demo.cache.files()))
    for i in range(20):
        raw = httpx.post(f"http://127.0.0.1:{port}/gradio_api/upload", files={"files": (f"u{i}.bin", rng.bytes(1000))})
        assert raw.status_code == 200, raw.text
        counts.append(len(demo.cache.files()))
    print(f"files in the serving cache after each request: {counts}")
    # A request's own files (one upload and three images shown, or two PNGs) may come on top of the bound.
    assert max(counts) <= bound + 3, counts
    assert len(generate(client, n=1)[0]) == 1  # pruning never removed what a later request needs


def test_the_api_endpoints_refuse_hostile_values_with_a_message(served, tmp_path, capfd):
    """A seeded, bounded fuzz of both endpoints through gradio_client: every call is answered or refused,
    the demo's handlers never raise anything but gr.Error (Gradio's own type checks of the inputs, before
    any handler runs, do print tracebacks of their own), and the demo keeps serving."""
    client, _ = served
    rng = random.Random(0)
    CALLS = 24
    texts = ["", " ", "a red\x00circle", "x" * 5000, "💥", "a red circle", "../../etc/passwd", "\u202e", "nan"]
    numbers = [-1, 0, 1, 8, 9, 2**31, 2**63, -(2**63), 1e308, -1e-300, 0.5, "3", "abc", None, [], {}]
    inputs = {
        "prompt": [*texts, None, 5, ["a red circle"]],
        "n": numbers,
        "cfg_scale": numbers,
        "temperature": numbers,
        "top_k": numbers,
        "top_p": numbers,
        "seed": numbers,
        "candidates": numbers,
        "upsample": [True, False, None, "yes", 2],
    }
    valid = ["a red circle", 1, 3.0, 1.0, 0, 1.0, 0, 0, False]
    files = {"empty.png": b"", "text.png": b"hello", "header.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 40}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    answered = refused = gradio_checks = 0
    for case in range(CALLS):
        if case % 5 == 4:  # the tokenizer tab: damaged files and paths that are not uploads
            value = rng.choice([*(handle_file(str(tmp_path / f)) for f in files), "/etc/passwd", None, 7])
            call, api = [value], "/reconstruct"
        else:
            call = list(valid)
            for i in rng.sample(range(len(valid)), rng.randint(1, 3)):
                call[i] = rng.choice(list(inputs.values())[i])
            api = "/generate"
        try:
            client.predict(*call, api_name=api)
            answered += 1
        except Exception:
            refused += 1
        for trace in capfd.readouterr().err.split("Traceback (most recent call last):")[1:]:
            raised = next(line for line in trace.splitlines()[1:] if line and not line[0].isspace())
            if "vim/demo/app.py" in trace:  # the demo's handler: only its own refusals, gr.Error
                assert raised.startswith("gradio.exceptions.Error: "), (case, api, call, trace[-3000:])
            else:
                gradio_checks += 1
    print(f"{CALLS} API calls: {answered} answered, {refused} refused ({gradio_checks} by Gradio's type checks)")
    assert refused and len(generate(client, n=1)[0]) == 1  # still serving


def edit_inputs(tmp_path, width: int = 64, painted: tuple[slice, slice] | None = (slice(8, 24), slice(32, 56))):
    """An editor value: a rendered scene as the background and one painted layer (None: nothing painted)."""
    Image.fromarray(make_example(WorldConfig(), "test", 0)["image"]).resize((width, 64)).save(tmp_path / "scene.png")
    layer = np.zeros((64, width, 4), np.uint8)
    if painted is not None:
        layer[painted] = 255
    Image.fromarray(layer).save(tmp_path / "layer.png")
    return {"background": str(tmp_path / "scene.png"), "layers": [str(tmp_path / "layer.png")], "composite": None}


def test_edit_tab_shows_the_original_the_mask_and_judged_edits(served, tmp_path):
    client, _ = served
    prompt = "a big red circle left of a small blue square"
    value = edit_inputs(tmp_path)
    editor = {**value, "background": handle_file(value["background"]), "layers": [handle_file(value["layers"][0])]}
    settings = [2, 3.0, 1.0, 0, 1.0, 3, 0, False]  # images, cfg, temperature, top-k, top-p, seed, candidates, upsample
    gallery, note, files = client.predict(editor, "paint", "", 4, prompt, *settings, api_name="/edit")
    assert [item["caption"].split(":")[0] for item in gallery[:2]] == ["original (cropped, resized)", "mask"]
    assert len(gallery) == 4 and len(files) == 2 and "2 edit(s) in" in note and "seeds 3, 4" in note
    assert "mask: 6 of 64 tokens redrawn" in gallery[1]["caption"]  # rows 8..23 × columns 32..55: 2 × 3 tokens
    for item, file in zip(gallery[2:], files, strict=True):
        assert list(verdict_of(item["caption"])) == [*ATTRIBUTES, "exact"]
        with Image.open(file) as im:
            record = json.loads(im.text["vim"])
        assert record["edit"]["mask"][1] == "00001110" and len(record["edit"]["source_codes"]) == 64


def test_edit_tab_refuses_bad_masks_with_a_clear_error(demo, tmp_path):
    import gradio as gr

    prompt, settings = "a red circle", [1, 3.0, 1.0, 0, 1.0, 0]
    (tmp_path / "notes.png").write_text("not an image")
    wrong = edit_inputs(tmp_path, painted=None)
    Image.new("RGBA", (32, 32), (255, 255, 255, 255)).save(tmp_path / "small_layer.png")
    for editor, region, box, message in [
        (None, "paint", "", "upload an image first"),
        (wrong, "paint", "", "the painted mask is empty"),
        ({**wrong, "layers": []}, "paint", "", "nothing is painted"),
        ({**wrong, "layers": [str(tmp_path / "small_layer.png")]}, "paint", "", "32×32 pixels but the image is 64×64"),
        ({**wrong, "background": str(tmp_path / "notes.png")}, "paint", "", r"could not read notes\.png as an image"),
        (wrong, "box", "1,2,3", "four whole numbers"),
    ]:
        with pytest.raises(gr.Error, match=message):
            demo.edit(editor, region, box, 4, prompt, *settings)
    gallery, note, _ = demo.edit(wrong, "keep top rows", "", 6, prompt, *settings)  # completion: 2 rows drawn
    assert "mask: 16 of 64 tokens redrawn" in gallery[1][1] and "1 edit(s)" in note


def test_several_models_get_a_tab_each_with_their_own_examples_and_endpoints(demo, small_bundle, tmp_path):
    import shutil

    from vim.bundle import bundled_models
    from vim.demo.app import ServingCache, examples_of

    other_path = tmp_path / "other-model"
    shutil.copytree(small_bundle, other_path)
    (other_path / "examples.txt").write_text("a cat face\n\na red apple\n")
    other = Demo(load_bundle(other_path), cache=demo.cache)
    assert examples_of(other.bundle) == ["a cat face", "a red apple"]
    assert examples_of(demo.bundle)[0] == "a red circle"  # a shapes-world model without examples.txt
    app = build_app([demo, other])
    names = {d.get("api_name") for d in app.config["dependencies"]}
    assert {"generate", "edit", "reconstruct", "generate_other_model", "edit_other_model"} <= names
    apart = ServingCache()
    with pytest.raises(ValueError, match="share one ServingCache"):
        build_app([demo, Demo(load_bundle(other_path), cache=apart)])
    apart.close()
    models = bundled_models()  # the repository's: the default first, each a generator bundle
    assert models[0] == DEFAULT_BUNDLE and all((m / "parti").is_dir() for m in models)


# ------------------------------------------------------------------------------------------- the Class tab

CLASSES = ["red circle", "blue square", "green star"]


@pytest.fixture(scope="module")
def class_demo(demo, small_bundle, tmp_path_factory):
    """The small bundle with a class-conditional part (`classgen/`, as `vim export-classgen` writes it) of
    random weights and three world classes, warmed up and served (sharing the other demo's serving cache)."""
    import shutil

    from flax import nnx

    from vim.classgen.model import ClassGPT
    from vim.config import ClassGenConfig, Config, to_dict
    from vim.training.weights import TRAINED_ON, module_fingerprint, save_params, write_record

    path = tmp_path_factory.mktemp("class-bundle") / "with-classes"
    shutil.copytree(small_bundle, path)
    bundle = load_bundle(path)
    tokenizer, fingerprint = bundle.tokenizer_cfg.tokenizer, module_fingerprint(bundle.tokenizer)
    cfg = Config(sample=SampleConfig(cfg_scale=2.0, temperature=0.9))
    cfg.classgen = ClassGenConfig(
        width=32, layers=1, heads=2, head_dim=16, mlp_dim=64, image_vocab_size=tokenizer.codebook_size,
        image_grid=tokenizer.image_size // tokenizer.patch_size, num_classes=len(CLASSES), labels="shapes-color-shape",
    )  # fmt: skip
    part = path / "classgen"
    part.mkdir()
    (part / "config.json").write_text(json.dumps(to_dict(cfg)))
    save_params(nnx.to_pure_dict(nnx.state(ClassGPT(cfg.classgen, rngs=nnx.Rngs(0)))), part / "params.npz")
    (part / "classes.json").write_text(json.dumps(CLASSES))
    write_record(part / TRAINED_ON, {"tokenizer": {"source": "tok", "step": 3, "fingerprint": fingerprint}, "step": 0})
    classes = Demo(load_bundle(path), cache=demo.cache)
    classes.warm_up()
    app = build_app(classes, queue_size=2)
    port = free_port()
    app.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **server_kwargs(classes)
    )
    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    yield classes, app, client
    client.close()
    app.close()


def draw_class(client, name="red circle", n=2, cfg_scale=2.0, temperature=1.0, seed=7):
    return client.predict(name, n, cfg_scale, temperature, seed, api_name="/generate_class")


def test_the_class_tab_draws_a_chosen_class_with_its_record_in_each_png(class_demo):
    demo, app, client = class_demo
    dropdown = next(c for c in app.config["components"] if c.get("props", {}).get("elem_id") == "class")
    assert [choice[0] for choice in dropdown["props"]["choices"]] == [*CLASSES, "unconditional"]
    gallery, note, files = draw_class(client, "blue square", n=3, seed=7)
    assert len(gallery) == len(files) == 3
    assert (
        note.startswith("3 image(s) of 'blue square'") and "seeds 7, 8, 9" in note and "read back as the class" in note
    )
    for item, file, seed in zip(gallery, files, (7, 8, 9), strict=True):
        assert item["caption"].startswith(f"blue square · seed {seed} · read back as")
        with Image.open(file) as im:
            assert im.size == (64, 64)
            record = json.loads(im.text["vim"])
        expected = demo.classgen.image_record(1, seed, SampleConfig(cfg_scale=2.0, temperature=1.0), "with-classes")
        assert record == json.loads(json.dumps(expected))  # what `vim generate --class` writes beside its PNGs
    again, _, _ = draw_class(client, "blue square", n=1, seed=7)  # a seed draws the same image in any request
    with Image.open(again[0]["image"]) as a, Image.open(gallery[0]["image"]) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
    gallery, note, _ = draw_class(client, "unconditional", n=1, cfg_scale=1.0)
    assert gallery[0]["caption"].startswith("unconditional · seed 7") and "read back as the class" not in note


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"name": "mauve blob"}, "Value: mauve blob is not in the list of choices"),  # Gradio's own check
        ({"seed": -5}, "seed must be -1 (random) or 0..2³¹−1, got -5"),
        ({"cfg_scale": 60.0}, "Value 60.0 is greater than maximum value 10"),
    ],
)
def test_the_class_tab_refuses_bad_input_with_a_clear_error(class_demo, kw, message):
    with pytest.raises(Exception, match=re.escape(message)):
        draw_class(class_demo[2], **kw)


def test_the_class_tab_runs_only_what_warm_up_compiled(class_demo, caplog):
    import jax

    demo = class_demo[0]
    with jax.log_compiles(True), caplog.at_level("WARNING"):
        for cfg_scale, name in ((1.0, "red circle"), (4.0, "unconditional")):
            demo.generate_class(name, 1, cfg_scale, 0.5, 3)
    assert not [r.message for r in caplog.records if "Compiling" in r.message]
    with pytest.raises(Exception, match="unknown class 'mauve blob'"):
        demo.generate_class("mauve blob", 1, 1.0, 1.0, 0)


def test_bundles_without_a_class_model_have_no_class_tab(demo):
    assert demo.classgen is None
    names = {d.get("api_name") for d in build_app(demo).config["dependencies"]}
    assert "generate" in names and not any(str(name).startswith("generate_class") for name in names)


def test_vim_generate_class_draws_from_a_bundles_class_part(class_demo, tmp_path, capsys):
    from vim.cli import main

    demo, _, _ = class_demo
    main(["generate", "--class", "green star", "--checkpoint", str(demo.bundle.path), "-n", "2", "-o", str(tmp_path)])
    assert "wrote 2 images of 'green star'" in capsys.readouterr().out
    record = json.loads((tmp_path / "green_star_0.json").read_text())
    assert record["checkpoint"] == str(demo.bundle.path) and (tmp_path / "green_star_1.png").is_file()
    assert record["sample"]["cfg_scale"] == 2.0  # the part's recommendation (its config.json)
