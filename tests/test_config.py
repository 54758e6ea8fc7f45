import json
import re

import pytest

from vim import config as config_lib
from vim.config import ConfigError, apply_overrides, preset, save_or_check


def test_presets_and_typed_overrides():
    cfg = apply_overrides(
        preset("tiny"),
        [
            "data.batch_size=32",
            "data.world.resolution=32",
            "data.world.test_heldout_fraction=0.25",
            "data.world.heldout_pairs=red star,blue circle",
            "text.model_path=/x.model",
            "log_every=7",
        ],
    )
    assert cfg.name == "tiny"
    assert cfg.data.batch_size == 32 and isinstance(cfg.data.batch_size, int)
    assert cfg.data.world.resolution == 32
    assert cfg.data.world.test_heldout_fraction == 0.25
    assert cfg.data.world.heldout_pairs == ("red star", "blue circle")
    assert cfg.text.model_path == "/x.model" and cfg.log_every == 7
    assert preset("default").data.world.num_train == 50_000


@pytest.mark.parametrize(
    "override, message",
    [
        ("data.batchsize=3", "unknown config field 'data.batchsize'"),
        ("dta.batch_size=3", "unknown config field 'dta'"),
        ("data.batch_size=three", "data.batch_size: cannot read 'three' as int"),
        ("data.world=3", "is a section"),
        ("data.batch_size", "not of the form"),
    ],
)
def test_bad_overrides_name_the_field(override, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(preset("tiny"), [override])


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        preset("huge")


def test_resolved_config_is_written_and_mismatch_names_the_field(tmp_path):
    cfg = preset("tiny")
    path = save_or_check(cfg, tmp_path)
    saved = json.loads(path.read_text())
    assert saved["data"]["world"]["num_train"] == 50_000
    assert config_lib.from_dict(saved) == cfg  # the file is a complete, loadable config
    save_or_check(preset("tiny"), tmp_path)  # same config resumes
    changed_safe = apply_overrides(preset("tiny"), ["log_every=5", "data.data_dir=/elsewhere"])
    save_or_check(changed_safe, tmp_path)  # resume-safe fields may change
    assert json.loads(path.read_text())["log_every"] == 5
    changed = apply_overrides(preset("tiny"), ["data.world.seed=3"])
    with pytest.raises(ConfigError, match=r"data\.world\.seed: run has 0, requested 3"):
        save_or_check(changed, tmp_path)
    assert json.loads(path.read_text())["data"]["world"]["seed"] == 0  # the saved config is untouched


def test_guidance_runs_only_when_the_scale_is_not_one():
    assert not config_lib.SampleConfig(cfg_scale=1.0).guided
    assert config_lib.SampleConfig(cfg_scale=1.5).guided and config_lib.SampleConfig(cfg_scale=0.5).guided


@pytest.mark.parametrize(
    "override, allowed",
    [
        ("parti.compute_dtype=bf16", "float32, bfloat16"),
        ("tokenizer.compute_dtype=float16", "float32, bfloat16"),
        ("train.optimizer=sgd", "adamw, adafactor"),
        ("train.nan_policy=ignore", "skip, abort"),
        ("text.model_type=wordpiece", "bpe, unigram, char, word"),
    ],
)
def test_a_value_outside_a_closed_set_names_the_field_and_the_choices(override, allowed):
    field, value = override.split("=")
    with pytest.raises(ConfigError, match=re.escape(f"{field}={value!r} is not one of {allowed}")):
        apply_overrides(preset("tiny"), [override])
    saved = config_lib.to_dict(preset("tiny"))
    section, name = field.split(".")
    saved[section][name] = value
    with pytest.raises(ConfigError, match=re.escape(field)):
        config_lib.from_dict(saved)  # a config file with it fails the same way
