"""Editing: token masks from files, boxes and rows; `vim edit`'s sidecars draw the edit again; the editing
benchmark's judge on known answers."""

import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

from vim.bundle import load_bundle
from vim.cli import main
from vim.config import SampleConfig, WorldConfig
from vim.edit import MaskError, box_mask, mask_from_file, mask_from_record, rows_mask, token_mask, write_edits
from vim.generate import Generator
from vim.metrics.editing import completion_cases, edit_cases, judge
from vim.tokenizer.infer import load_square
from vim.world.dataset import make_example
from vim.world.render import render
from vim.world.scene import Scene


def test_a_mask_marks_every_token_its_pixels_touch_in_the_center_square():
    marked = np.zeros((64, 96), bool)  # wider than tall: 16 columns each side are cropped away
    marked[0, 16] = True  # the first pixel of the square: token (0, 0)
    marked[40:50, 60:70] = True  # square x 44..53: tokens (5..6, 5..6)
    expected = np.zeros((8, 8), bool)
    expected[0, 0] = True
    expected[5:7, 5:7] = True
    np.testing.assert_array_equal(token_mask(marked, 8), expected)
    first = np.zeros((8, 8), bool)
    first[0, 0] = True
    np.testing.assert_array_equal(box_mask("16,0,24,8", (96, 64), 8), first)  # x 16..23 of 96: the square's 0..7
    assert rows_mask(3, 8).sum() == 5 * 8 and not rows_mask(3, 8)[:3].any()


def test_bad_masks_are_refused_naming_what_is_wrong(tmp_path):
    Image.new("L", (32, 32), 255).save(tmp_path / "small.png")
    Image.new("L", (64, 64), 0).save(tmp_path / "black.png")
    (tmp_path / "text.png").write_text("not an image")
    cases = [
        (lambda: mask_from_file(tmp_path / "small.png", (64, 64), 8), "32×32 pixels but the image is 64×64"),
        (lambda: mask_from_file(tmp_path / "black.png", (64, 64), 8), "empty"),
        (lambda: mask_from_file(tmp_path / "text.png", (64, 64), 8), "not an image"),
        (lambda: box_mask("0,0,10", (64, 64), 8), "four whole numbers"),
        (lambda: box_mask("0,0,70,10", (64, 64), 8), "outside the 64×64 image"),
        (lambda: box_mask("0,0,10,10", (96, 64), 8), "inside the center square"),  # all in the cropped-off strip
        (lambda: rows_mask(8, 8), "--keep-top-rows must be 0..7"),
    ]
    for call, message in cases:
        with pytest.raises(MaskError, match=message):
            call()


def test_edit_sidecars_draw_the_edit_again(small_bundle, tmp_path):
    Image.fromarray(make_example(WorldConfig(), "test", 0)["image"]).resize((80, 64)).save(tmp_path / "in.png")
    mask = np.zeros((64, 80), np.uint8)
    mask[8:30, 20:40] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    tokens = mask_from_file(tmp_path / "mask.png", (80, 64), 8)
    assert tokens.sum() and not tokens[:, 0].any()  # the mask's columns 20..39 of 80 → square x 12..31
    generator = Generator(load_bundle(small_bundle), batch_size=2)
    image, out = load_square(tmp_path / "in.png", 64), tmp_path / "out"
    records = write_edits(out, tmp_path / "in.png", image, tokens, "a red circle", 2, 0, SampleConfig(), generator)
    assert [json.loads((out / r["image"]).with_suffix(".json").read_text()) for r in records] == records
    assert (out / "source.png").is_file() and (out / "mask.png").is_file()
    edit = records[1]["edit"]
    np.testing.assert_array_equal(mask_from_record(edit["mask"]), tokens)
    # Drawn again from the sidecar alone (codes, mask, prompt, seed, settings): the same pixels.
    source_codes, drawn = np.array([edit["source_codes"]]), tokens.reshape(1, -1)
    again = generator(
        [records[1]["prompt"]],
        [records[1]["seed"]],
        SampleConfig(**{**records[1]["settings"], "candidate_cfg_scales": ()}),
        (source_codes, drawn),
    )
    np.testing.assert_array_equal(again["images"][0], np.asarray(Image.open(out / records[1]["image"])))
    np.testing.assert_array_equal(again["codes"][~drawn], source_codes[~drawn])  # only the masked tokens changed


def test_vim_edit_refuses_bad_flags_before_loading_a_bundle(tmp_path, capsys):
    Image.new("RGB", (64, 64)).save(tmp_path / "in.png")
    args = ["edit", str(tmp_path / "in.png"), "a red circle", "--checkpoint", str(tmp_path / "none"), "-o", "x"]
    assert main([*args, "--box", "0,0,80"]) == 2
    assert main([*args, "--box", "0,0,8,8", "--keep-top-rows", "2"]) == 2
    assert main([*args[:2], "", *args[3:], "--keep-top-rows", "2"]) == 2
    err = capsys.readouterr().err
    assert "four whole numbers" in err and "give one of --mask, --box or --keep-top-rows" in err
    assert "prompt is empty" in err and str(tmp_path / "none") not in err  # refused before looking for the bundle


def perfect_edit(case: dict, world: WorldConfig) -> np.ndarray:
    """The scene of an edit case with the changed group drawn as its caption asks, everything else as it was."""
    scene = Scene.from_json(make_example(world, "test", case["test_index"])["scene"])
    old = next(g for g in scene.spec.groups if g not in case["spec"].groups)
    new = next(g for g in case["spec"].groups if g not in scene.spec.groups)
    objects = tuple(
        dataclasses.replace(o, color=new.color, shape=new.shape) if old.admits(o.size, o.color, o.shape) else o
        for o in scene.objects
    )
    return render(dataclasses.replace(scene, objects=objects), world.resolution)


def test_the_editing_judge_on_known_answers():
    world = WorldConfig()
    cases = edit_cases(world, 6, 8)
    assert [c["heldout"] for c in cases] == [False, True] * 3
    assert {c["change"] for c in cases if not c["heldout"]} == {"color", "shape", "both"}
    inputs = np.stack([c["image"] for c in cases])
    perfect = judge(cases, np.stack([perfect_edit(c, world) for c in cases]), inputs)
    assert perfect["exact_seen_pairs"]["rate"] == perfect["exact_heldout_pairs"]["rate"] == 1.0
    assert perfect["kept_unchanged"]["rate"] == 1.0 and perfect["psnr_outside_db"]["mean"] == 100.0
    unchanged = judge(cases, inputs, inputs)  # an editor that changes nothing asks for nothing it was asked
    assert unchanged["exact_seen_pairs"]["rate"] == 0.0 and unchanged["kept_unchanged"]["rate"] == 1.0
    swapped = judge(cases, inputs[::-1], inputs)  # other scenes: what was kept is gone
    assert swapped["kept_unchanged"]["rate"] < 0.5 and swapped["psnr_outside_db"]["mean"] < 30
    completions = completion_cases(world, 4, 8)
    assert judge(completions, np.stack([c["image"] for c in completions]), inputs[:4])["exact_seen_pairs"]["n"] > 0
