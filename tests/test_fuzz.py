"""Every `vim` command with random and hostile values for its flags: exit 0 or 2, never a traceback.

In-process (`vim.cli.main`), seeded and bounded: each case starts from a command line that fails fast
(a checkpoint, run or folder that does not exist) and replaces one to three of its values with hostile
ones, so that no case trains or draws anything big. A case that raises, or writes a traceback, fails.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import signal
import time

import pytest

from vim.cli import build_parser, main

SEED = 0
CASES = 150
SECONDS_PER_CASE = 20

# Values a careless user or an attacker types: out of every range, not numbers at all, odd text and paths.
HOSTILE_INTS = ["-1", "0", "-2", "2147483648", "4294967296", "99999999999", str(2**63), str(-(2**63)), "10" * 40]
HOSTILE_FLOATS = ["nan", "inf", "-inf", "1e309", "-0.0", "-5", "1e-320", "99999"]
HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "a\x07b",
    "\udcff",  # an undecodable byte as Python spells it
    "x" * 5000,
    "-",
    "--",
    "../../../../etc/passwd",
    "/dev/null",
    "/",
    "/nonexistent/deep/path",
    "💥",
    "a=b",
    "data.batch_size=-1",
    "train.num_steps=1e999",
    "=",
    "1,2,,nan",
    "0.0.0.0",
]


def commands(
    parser: argparse.ArgumentParser, words: tuple[str, ...] = ()
) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every command's words and parser."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= commands(sub, (*words, name))
            return found
    return {words: parser}


def fail_fast_base(words: tuple[str, ...], tmp: str) -> list[str]:
    """A command line for `words` that the command refuses quickly: it names things that do not exist."""
    missing = f"{tmp}/missing"
    base = {
        ("config", "show"): [],
        ("data", "build"): ["no-such-dataset", "--data-dir", missing],
        ("data", "text-tokenizer"): ["--data-dir", missing, "-o", f"{tmp}/t.model"],
        ("data", "preview"): ["--data-dir", missing, "--set", "data.dataset=no-such", "-o", f"{tmp}/p.png"],
        ("data", "import"): [missing, "--name", "x", "--data-dir", f"{tmp}/data"],
        ("world", "check"): ["-n", "2"],
        ("world", "parse"): [missing],
        ("eval", "faithfulness"): ["--checkpoint", missing, "-n", "1"],
        ("eval", "tokenizer"): ["--checkpoint", missing],
        ("eval", "editing"): ["--checkpoint", missing, "-n", "1"],
        ("eval", "generation"): ["--checkpoint", missing, "-n", "2", "--no-fid"],
        ("eval", "emoji"): ["--checkpoint", missing, "-n", "1"],
        ("eval", "classgen"): ["--checkpoint", missing, "-n", "2", "--no-fid"],
        ("eval", "probe"): ["--checkpoint", missing],
        ("edit",): [missing, "a red circle", "--checkpoint", missing, "--box", "0,0,8,8", "-o", f"{tmp}/e"],
        ("train-classgen",): ["--data-dir", missing, "--tokenizer", missing, "--workdir", missing],
        ("export-classgen",): [missing, f"{tmp}/cg"],
        ("p2", "run"): ["--checkpoint", missing, "--out", f"{tmp}/p2", "--prompts-file", missing],
        ("p2", "compare"): [missing, missing, "-o", f"{tmp}/c"],
        ("p2", "score"): [missing],
        ("generate",): ["a red circle", "--checkpoint", missing, "-o", f"{tmp}/out"],
        ("export",): ["--tokenizer", missing, "-o", f"{tmp}/bundle"],
        ("train-tokenizer",): ["--data-dir", missing, "--workdir", missing],
        ("reconstruct",): [missing, "--checkpoint", missing],
        ("tokenize",): ["--checkpoint", missing],
        ("encode-dataset",): ["--tokenizer", missing],
        ("train-parti",): ["--data-dir", missing, "--tokenizer", missing, "--workdir", missing],
        ("plan",): ["--mesh", "1x1", "--set", "data.no_such_field=1"],
        ("train-scorer",): ["--data-dir", missing, "--workdir", missing],
        ("export-scorer",): ["--workdir", missing, "-o", f"{tmp}/s"],
        ("eval-scorer",): ["--data-dir", missing, "--checkpoint", missing],
        ("train-upsampler",): ["--data-dir", missing, "--tokenizer", missing, "--workdir", missing],
        ("export-upsampler",): ["--workdir", missing, "-o", f"{tmp}/u"],
        ("fid",): [missing, missing],
        ("fid-stats",): [missing],
        ("kid",): [missing, missing],
        ("is",): [missing],
        ("demo",): ["--checkpoint", missing],
    }
    return list(base[words])


def hostile(action: argparse.Action, rng: random.Random) -> list[str]:
    """One hostile value for `action` (or none, for an on/off flag)."""
    if action.nargs == 0:
        return []
    if action.choices:
        return [rng.choice([*map(str, action.choices), *HOSTILE_TEXT])]
    pool = {int: HOSTILE_INTS, float: HOSTILE_FLOATS}.get(action.type, HOSTILE_TEXT)
    return [rng.choice(pool + HOSTILE_TEXT[:3])]


class TooSlow(Exception):
    pass


def test_every_command_refuses_hostile_values_without_a_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # hostile relative paths ('-', '💥', '' = here) land in the test's folder
    rng = random.Random(SEED)
    every = commands(build_parser())
    multi = {"--coordinator", "--num-processes", "--process-id", "--heartbeat-timeout", "--join-timeout"}
    names = sorted(every)
    outcomes = {0: 0, 2: 0}

    def too_slow(*_):
        raise TooSlow

    previous = signal.signal(signal.SIGALRM, too_slow)
    start = time.perf_counter()
    try:
        for case in range(CASES):
            words = names[case % len(names)] if case < len(names) else rng.choice(names)
            parser = every[words]
            actions = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
            actions = [a for a in actions if not multi & set(a.option_strings)]
            argv = fail_fast_base(words, str(tmp_path))
            for action in rng.sample(actions, min(len(actions), rng.randint(1, 3))):
                value = hostile(action, rng)
                if action.option_strings:
                    argv += [rng.choice(action.option_strings), *value]
                elif value:  # a positional: put it first, so it takes that place
                    argv = [*value, *argv]
            argv = [*words, *argv]
            err = io.StringIO()
            signal.alarm(SECONDS_PER_CASE)
            try:
                with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                    try:
                        code = main(argv)
                    except SystemExit as e:  # argparse's refusals (exit 2) and --help (exit 0)
                        code = e.code
            except TooSlow:
                pytest.fail(f"case {case} ran over {SECONDS_PER_CASE} s: vim {argv!r}")
            except Exception as e:
                pytest.fail(f"case {case}: vim {argv!r} raised {type(e).__name__}: {e}")
            finally:
                signal.alarm(0)
            text = err.getvalue()
            assert code in (0, 2), f"case {case}: vim {argv!r} exited {code}: {text[-2000:]}"
            assert "Traceback" not in text, f"case {case}: vim {argv!r}: {text[-2000:]}"
            if code == 2:
                assert "error:" in text, f"case {case}: vim {argv!r} exited 2 saying {text[-500:]!r}"
            outcomes[code] += 1
    finally:
        signal.signal(signal.SIGALRM, previous)
    seconds = time.perf_counter() - start
    print(f"{CASES} cases over {len(names)} commands in {seconds:.1f} s: {outcomes[0]} exit 0, {outcomes[2]} exit 2")
