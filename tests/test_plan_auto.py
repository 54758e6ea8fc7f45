"""`vim plan --auto`: the HLO collective reader against hand counts, the chip table, candidates, the step-time
estimate and ranking, and one small search on 8 fake devices (compiled once, then from the cache)."""

import math
import os

import jax
import pytest

from vim import hlo
from vim.chips import CHIPS, chip
from vim.config import ConfigError, preset
from vim.parti import plan_auto
from vim.parti.train import PartiTask

# A while loop run 4 times around an all-reduce over two groups of 4 (iota form), an all-gather over
# the mesh form, a reduce-scatter over explicit groups and a tuple-shaped all-reduce: the forms XLA prints.
HLO = """HloModule m

%body (p: (s32[], f32[64])) -> (s32[], f32[64]) {
  %p = (s32[], f32[64]) parameter(0)
  %x = f32[64]{0} get-tuple-element(%p), index=1
  %all-reduce.1 = f32[64]{0} all-reduce(%x), channel_id=1, replica_groups=[2,4]<=[8], to_apply=%add
  ROOT %t = (s32[], f32[64]) tuple(%i, %all-reduce.1)
}

ENTRY %main (a: f32[16,8]) -> f32[16,8] {
  %a = f32[16,8]{1,0} parameter(0)
  %all-gather.2 = bf16[16,8]{1,0} all-gather(%a), replica_groups=mesh['axis_0'=2,'axis_1'=4] {'axis_1'}, dimensions={0}
  %reduce-scatter.3 = f32[2,8]{1,0} reduce-scatter(%a), replica_groups={{0,1,2,3,4,5,6,7}}, dimensions={0}
  %all-reduce.4 = (f32[], f32[10]{0}) all-reduce(%s, %v), replica_groups={{0,4},{1,5},{2,6},{3,7}}, to_apply=%add
  %w = (s32[], f32[64]) while(%init), body=%body, backend_config={"known_trip_count":{"n":"4"}}
  ROOT %r = f32[16,8]{1,0} copy(%a)
}
"""


def test_collectives_are_read_with_their_groups_loops_and_ring_bytes():
    found = {c["kind"] + str(c["group"]): c for c in hlo.collectives(HLO, 8)}
    loop = found["all-reduce4"]
    assert (loop["times"], loop["bytes"], loop["span"]) == (4, 256, 4)
    assert loop["wire_bytes"] == pytest.approx(2 * 3 / 4 * 256)  # 2(n−1)/n × bytes
    gather = found["all-gather4"]
    assert gather["bytes"] == 16 * 8 * 2 and hlo.device_groups_of(gather) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    scatter = found["reduce-scatter8"]
    assert scatter["wire_bytes"] == 7 * 2 * 8 * 4  # (n−1) × the result's bytes = (n−1)/n × the input's
    pairs = found["all-reduce2"]
    assert pairs["bytes"] == 4 + 40 and pairs["span"] == 8  # a tuple's parts add; {0,4} spans 8 ids
    summary = hlo.summarize(hlo.collectives(HLO, 8))
    assert sum(e["count"] for e in summary) == 4 + 1 + 1 + 1


def test_chips_carry_every_figure_and_an_unknown_one_names_the_rest():
    assert set(CHIPS) == {"h100", "h200", "tpu-v4", "tpu-v5e", "tpu-v5p"}
    assert chip("h200").hbm_bytes > chip("h100").hbm_bytes and chip("h200").peak_flops == chip("h100").peak_flops
    with pytest.raises(ValueError, match=r"unknown chip 'a100'; choose one of h100, h200, tpu-v4"):
        chip("a100")
    assert chip("h100").scaled(link=0.8).link == pytest.approx(0.8 * chip("h100").link)


def test_candidates_cover_the_space_and_respect_what_divides():
    cands = plan_auto.candidates("tiny", [], 8, 32, {})
    meshes = {c.mesh for c in cands}
    assert "1x1x8" not in meshes and {"8x1x1", "2x2x2", "1x2x4"} <= meshes  # tiny has 4 heads
    assert not any(c.shard_update and c.data == 1 for c in cands)
    assert {c.optimizer for c in cands} == {"adamw", "adafactor"} and {c.remat for c in cands} == {False, True}
    assert {c.microbatches for c in cands} == {1, 2}
    narrowed = plan_auto.candidates("tiny", [], 8, 32, plan_auto.parse_space(["mesh=8x1x1", "optimizer=adamw"]))
    assert len(narrowed) == 2 * 2 * 2  # remat × microbatches × sharded update
    with pytest.raises(ConfigError, match="KEY one of mesh"):
        plan_auto.parse_space(["meshes=8x1x1"])


def _report(flops: float, hbm: float, wire: float, span: int, gib: float) -> dict:
    return {
        "devices": 8,
        "matmul_flops_per_step": {"forward": flops * 8},
        "hbm_bytes_per_step_per_device": hbm,
        "collectives": [{"kind": "all-reduce", "group": 8, "span": span, "count": 1, "wire_bytes": wire}],
        "per_device_gib": {"total": gib},
    }


def test_the_estimate_follows_its_formula_and_the_ranking_drops_what_does_not_fit():
    h100 = chip("h100")
    step = plan_auto.estimate(_report(989.4e12, 3.35e12 / 2, 450e9, 8, 1.0), h100)
    assert step == pytest.approx({"compute_s": 1.0, "memory_s": 0.5, "communication_s": 1.0, "step_s": 2.0})
    beyond = plan_auto.estimate(_report(0, 0, 50e9, 16, 1.0), h100)  # a group across hosts: the NIC's figure
    assert beyond["communication_s"] == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="no published bandwidth beyond 4096"):
        plan_auto.estimate(_report(0, 0, 1.0, 8192, 1.0), chip("tpu-v4"))
    a, b, big = (plan_auto.Candidate(8, 1, 1, False, 1, "adamw", s) for s in (False, True, False))
    big = plan_auto.Candidate(1, 8, 1, False, 1, "adamw", False)
    reports = {
        a: _report(1e12, 1e9, 1e9, 8, 10),
        b: _report(1e12, 1e9, 5e8, 8, 9),
        big: _report(1e11, 1e8, 0, 8, 200),
    }
    rows = plan_auto.rank(reports, h100)
    assert [r["candidate"] for r in rows] == [b, a, big] and rows[2]["status"] == "over memory"
    assert all(v["same_winner"] for v in plan_auto.stability(reports, h100).values())
    assert "| 1 | 8x1x1 | False | 1 | adamw | True |" in plan_auto.table(rows)


@pytest.fixture(scope="module")
def small_search(tmp_path_factory):
    """Tiny Parti, narrowed, on 8 fake devices: data-parallel AdamW with and without the sharded update."""
    overrides = [
        "parti.width=32",
        "parti.encoder_layers=1",
        "parti.decoder_layers=1",
        "parti.heads=2",
        "parti.head_dim=16",
        "parti.mlp_dim=64",
        "parti.image_vocab_size=96",
    ]
    space = plan_auto.parse_space(["mesh=8x1x1", "remat=false", "microbatches=1", "optimizer=adamw"])
    cache = tmp_path_factory.mktemp("plan-cache")
    first = plan_auto.search("tiny", overrides, 8, chip("h100"), space=space, cache=cache, jobs=1)
    mtimes = {p: os.stat(p).st_mtime_ns for p in cache.iterdir()}
    again = plan_auto.search("tiny", overrides, 8, chip("h100"), space=space, cache=cache, jobs=1)
    return first, again, mtimes, {p: os.stat(p).st_mtime_ns for p in cache.iterdir()}


def test_a_small_search_compiles_once_and_matches_hand_counts(small_search):
    first, again, mtimes_before, mtimes_after = small_search
    assert first["candidates"] == 2 and mtimes_before == mtimes_after  # the rerun compiled nothing
    assert again["table"] == first["table"] and first["winner"] is not None
    reports = {("shard_update=true" in k): v for k, v in first["reports"].items()}
    replicated, sharded = reports[False], reports[True]
    params = replicated["parameters"]
    grad_bytes = 4 * params  # f32 gradients

    def over_all(report, kind):
        return sum(c["wire_bytes"] for c in report["collectives"] if c["kind"] == kind and c["group"] == 8)

    # Data parallelism on 8 devices: one all-reduce of the gradients, a ring sending 2(N−1)/N of their
    # bytes; sharded, a reduce-scatter and an all-gather of (N−1)/N each. XLA sums the two [8, D] position
    # tables' gradients in their broadcast [64, D] form before reducing them (3 % more bytes here).
    assert over_all(replicated, "all-reduce") == pytest.approx(2 * 7 / 8 * grad_bytes, rel=0.05)
    assert over_all(sharded, "reduce-scatter") == pytest.approx(7 / 8 * grad_bytes, rel=0.03)
    assert over_all(sharded, "all-gather") == pytest.approx(7 / 8 * grad_bytes, rel=0.03)
    assert over_all(sharded, "all-reduce") < 0.01 * grad_bytes
    # `vim plan` shows the optimizer state per device divided by the data axis (two AdamW moments per
    # parameter, a step counter and clipping's empty state besides).
    opt = {s: r["per_device_gib"]["optimizer_state"] * 2**30 for s, r in reports.items()}
    assert opt[False] == pytest.approx(2 * grad_bytes, rel=0.01)
    assert opt[True] == pytest.approx(opt[False] / 8, rel=0.01)
    # The plan's state bytes (from shapes and shardings) against XLA's argument bytes for the same program:
    # the arguments are that state plus the batch (codes and text ids, int32) and the RNG key.
    for report in reports.values():
        gib = report["per_device_gib"]
        state = (gib["params"] + gib["ema"] + gib["optimizer_state"]) * 2**30
        batch = report["global_batch"] / 8 * (64 + 32) * 4
        assert gib["xla_arguments"] * 2**30 == pytest.approx(state + batch, rel=0.01)
    assert math.isfinite(first["rows"][0]["step_s"]) and len(first["stability"]) == 2 * 5


def _proxy(enc: int, dec: int) -> dict:
    """A report whose every number is linear in the block counts (one collective only past one decoder block)."""
    collectives = [{"kind": "all-reduce", "group": 8, "span": 8, "count": 1, "bytes": 10 * enc, "wire_bytes": 7.0}]
    if dec > 1:
        collectives.append({"kind": "all-gather", "group": 4, "span": 4, "count": 2, "bytes": 8, "wire_bytes": 6.0})
    return {
        "devices": 8,
        "remat": True,
        "parameters": 100 + 10 * enc + 30 * dec,
        "per_device_gib": {"total": 1.0 + 0.5 * enc + 2.0 * dec},
        "matmul_flops_per_step": {"forward": 1e9 * (enc + 3 * dec), "recompute": 5e8 * (enc + 3 * dec)},
        "hbm_bytes_per_step_per_device": 1e6 * (1 + dec),
        "collectives": collectives,
        "compile_wall_seconds": 5,
    }


def test_the_depth_proxy_extrapolates_each_number_linearly_in_the_blocks():
    full = plan_auto.extrapolate({d: _proxy(*d) for d in plan_auto.DEPTH_PROXIES}, 16, 64)
    assert full["parameters"] == 100 + 10 * 16 + 30 * 64 and full["remat"] is True and full["devices"] == 8
    assert full["per_device_gib"]["total"] == pytest.approx(1.0 + 0.5 * 16 + 2.0 * 64)
    assert full["matmul_flops_per_step"]["forward"] == pytest.approx(1e9 * (16 + 3 * 64))
    assert full["recomputed_share_of_forward"] == pytest.approx(0.5)
    kinds = {c["kind"]: c for c in full["collectives"]}
    assert kinds["all-reduce"]["bytes"] == 160 and kinds["all-reduce"]["count"] == 1
    assert kinds["all-gather"]["wire_bytes"] == pytest.approx(63 * 6.0)  # absent from the base: 0 there
    assert full["compile_wall_seconds"] == 15 and full["depth_proxy"]["layers"] == [16, 64]


def test_candidates_over_the_memory_bound_are_not_compiled(tmp_path):
    tiny_hbm = chip("h100").scaled(hbm_bytes=1e-9)
    space = plan_auto.parse_space(["mesh=8x1x1,2x2x2", "remat=true", "microbatches=1", "optimizer=adamw"])
    record = plan_auto.search("tiny", [], 8, tiny_hbm, space=space, cache=tmp_path)
    assert record["pruned"] == record["candidates"] == 4 and record["compiled"] == 0 and record["winner"] is None
    assert not list(tmp_path.iterdir())  # nothing compiled, nothing cached
    assert {r["status"] for r in record["rows"]} == {"over memory (bound)"}
    # Ranked for a chip whose memory the bound does not exceed, they are listed as not compiled.
    reports = {plan_auto.Candidate(**r["candidate"]): record["reports"][r["set"]] for r in record["rows"]}
    assert {r["status"] for r in plan_auto.rank(reports, chip("h100"))} == {"not compiled"}
    # The bound by hand for data 8, AdamW, no sharded update: params, EMA and two moments in f32
    # (nothing split), and the blocks' inputs in tiny's f32 compute: (2 × 32 text + 4 × 64 image tokens)
    # × 4 rows × width 256 × 4 bytes.
    bounds = record["memory_bound_gib"]
    replicated = next(k for k in bounds if "mesh.data=8 " in k and "shard_update=false" in k)
    params = sum(math.prod(x.shape) for x in jax.tree.leaves(PartiTask(preset("tiny", "parti")).abstract_params))
    assert bounds[replicated] * 2**30 == pytest.approx(16 * params + (2 * 32 + 4 * 64) * 4 * 256 * 4)


def test_the_memory_bound_stays_below_what_the_compiled_program_holds(small_search, depth_search):
    for record in (small_search[0], *depth_search):
        for key, report in record["reports"].items():
            assert record["memory_bound_gib"][key] <= report["per_device_gib"]["total"], key


@pytest.fixture(scope="module")
def depth_search(tmp_path_factory):
    """One candidate of a small 2+3-block Parti on 2 × 2 × 2 devices with remat, compiled whole and as the
    depth proxy's three shallow stacks."""
    overrides = [
        "parti.width=32",
        "parti.encoder_layers=2",
        "parti.decoder_layers=3",
        "parti.heads=2",
        "parti.head_dim=16",
        "parti.mlp_dim=64",
        "parti.image_vocab_size=96",
    ]
    space = plan_auto.parse_space(["mesh=2x2x2", "remat=true", "microbatches=2", "optimizer=adamw"])
    space["shard_update"] = ["true"]
    cache = tmp_path_factory.mktemp("plan-cache-depth")
    whole = plan_auto.search("tiny", overrides, 8, chip("h100"), space=space, cache=cache, jobs=1)
    proxy = plan_auto.search("tiny", overrides, 8, chip("h100"), space=space, cache=cache, jobs=1, depth_proxy=True)
    return whole, proxy


def test_the_depth_proxy_matches_the_whole_stack(depth_search):
    whole, proxy = (next(iter(r["reports"].values())) for r in depth_search)
    assert proxy["depth_proxy"]["layers"] == [2, 3] and "depth_proxy" not in whole
    assert proxy["parameters"] == whole["parameters"]
    for k in ("params", "ema", "optimizer_state"):
        assert proxy["per_device_gib"][k] == pytest.approx(whole["per_device_gib"][k], rel=1e-9)
    for k, v in whole["matmul_flops_per_step"].items():
        assert proxy["matmul_flops_per_step"][k] == pytest.approx(v, rel=1e-9, abs=1.0)
    # Measured: total memory 1.00008 ×, HBM bytes 1.0008 ×, collective bytes 1.0 × the whole stack's.
    assert proxy["per_device_gib"]["total"] == pytest.approx(whole["per_device_gib"]["total"], rel=0.01)
    assert proxy["hbm_bytes_per_step_per_device"] == pytest.approx(whole["hbm_bytes_per_step_per_device"], rel=0.01)
    wire = [sum(c["wire_bytes"] for c in r["collectives"]) for r in (proxy, whole)]
    assert wire[0] == pytest.approx(wire[1], rel=0.01)
