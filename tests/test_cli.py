import json
import subprocess
import sys

import pytest
from PIL import Image

from vim.cli import build_parser, main
from vim.config import WorldConfig
from vim.world.dataset import make_example

SUBCOMMANDS = [
    ["config", "show"],
    ["data", "build"],
    ["data", "text-tokenizer"],
    ["data", "preview"],
    ["data", "import"],
    ["world", "check"],
    ["world", "parse"],
]


def test_every_subcommand_has_help():
    out = subprocess.run([sys.executable, "-m", "vim.cli", "--help"], capture_output=True, text=True, check=True)
    assert "data" in out.stdout and "world" in out.stdout
    parser = build_parser()
    for words in SUBCOMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args([*words, "--help"])
        assert exit_info.value.code == 0


def test_config_show_applies_overrides(capsys):
    assert main(["config", "show", "--preset", "tiny", "--set", "data.batch_size=4"]) == 0
    assert json.loads(capsys.readouterr().out)["data"]["batch_size"] == 4


def test_bad_override_exits_nonzero_with_message(capsys):
    assert main(["config", "show", "--set", "data.nope=1"]) == 2
    assert "unknown config field 'data.nope'" in capsys.readouterr().err


def test_data_build_names_what_it_can_build_and_refuses_a_source_the_world_does_not_read(tmp_path, capsys):
    assert main(["data", "build", "photos", "--data-dir", str(tmp_path)]) == 2
    assert "no dataset named 'photos' to build; vim builds [" in capsys.readouterr().err
    assert main(["data", "build", "shapes", "--from", str(tmp_path), "--data-dir", str(tmp_path)]) == 2
    assert "takes no --from" in capsys.readouterr().err


def test_preview_from_built_dataset(small_cfg, tmp_path, capsys):
    out = tmp_path / "grid.png"
    args = [
        "data",
        "preview",
        "--preset",
        "tiny",
        "--data-dir",
        small_cfg.data.data_dir,
        "-n",
        "6",
        "-o",
        str(out),
        "--set",
        "data.world.num_train=320",
        "--set",
        "data.world.num_validation=64",
        "--set",
        "data.world.num_test=64",
        "--set",
        "data.world.natural_captions=0.0",
    ]
    assert main(args) == 0
    assert "6 examples of train" in capsys.readouterr().out
    image = Image.open(out)
    assert image.size[0] == 4 * 192 and image.size[1] > 2 * 192


def test_world_parse_and_check(tmp_path, capsys):
    ex = make_example(WorldConfig(), "validation", 5)
    path = tmp_path / "x.png"
    Image.fromarray(ex["image"]).save(path)
    assert main(["world", "parse", str(path), "--caption", ex["caption"]]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["match"]["exact"] and len(result["objects"]) >= 1
    lone = next(ex for i in range(50) if len((ex := make_example(WorldConfig(), "natural", i))["caption"]) < 20)
    Image.fromarray(lone["image"]).save(path)
    assert main(["world", "parse", str(path), "--caption", lone["caption"]]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["match"]["exact"], (lone["caption"], result)
    unsaid = [a for a, v in result["match"].items() if v is None]  # JSON null: the caption does not ask
    assert unsaid and all(f"{a}: not asked" in result["verdict"] for a in unsaid), (lone["caption"], result)
    assert main(["world", "check", "-n", "50"]) == 0
    assert json.loads(capsys.readouterr().out)["exact_scene_accuracy"] >= 0.98
