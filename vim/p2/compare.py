"""Side-by-side judging of two P2 runs, and win rates from the saved judgements.

    vim p2 compare runs/p2/A runs/p2/B -o compare.html     # open it, click or press ← ↓ →, save JSON
    vim p2 score compare.json

Each prompt shows A's and B's images in a random left/right order that is written into the page and
into every saved judgement (`left`), so a choice of "left" or "right" always maps back to A or B.
"""

from __future__ import annotations

import html
import json
import os
import random
from collections import Counter, defaultdict
from pathlib import Path

from vim.p2.run import read_results


def pairs(run_a: Path, run_b: Path, seed: int = 0) -> list[dict]:
    """Prompts finished in both runs, each with which run goes on the left."""
    a = {r["index"]: r for r in read_results(run_a)}
    b = {r["index"]: r for r in read_results(run_b)}
    rng = random.Random(seed)
    out = []
    for index in sorted(a.keys() & b.keys()):
        left = rng.choice("AB")
        out.append({"index": index, "left": left, "a": a[index], "b": b[index]})
    return out


def write_compare(run_a: str | os.PathLike, run_b: str | os.PathLike, output: str | os.PathLike, seed: int = 0) -> int:
    """Write the judging page; returns how many prompts it shows."""
    run_a, run_b, output = Path(run_a), Path(run_b), Path(output)
    items = pairs(run_a, run_b, seed)
    if not items:
        raise ValueError(f"{run_a} and {run_b} have no finished prompt in common")
    base = output.resolve().parent
    esc = html.escape

    def imgs(run: Path, record: dict) -> str:
        return "".join(f'<img src="{esc(os.path.relpath((run / f).resolve(), base))}">' for f in record["files"])

    rows = []
    for i, item in enumerate(items):
        left_run, right_run = (run_a, run_b) if item["left"] == "A" else (run_b, run_a)
        left_rec, right_rec = (item["a"], item["b"]) if item["left"] == "A" else (item["b"], item["a"])
        rows.append(
            f'<div class="item" id="item{i}" data-index="{item["index"]}" data-left="{item["left"]}">'
            f'<div class="t">{i + 1}/{len(items)} · #{item["index"]} {esc(item["a"]["prompt"])}'
            f' <span class="m">({esc(item["a"]["category"])} · {esc(item["a"]["challenge"])})</span></div>'
            f'<div class="side">{imgs(left_run, left_rec)}</div><div class="side">{imgs(right_run, right_rec)}</div>'
            '<div class="buttons"><button data-choice="left">← left better</button>'
            '<button data-choice="tie">↓ tie</button><button data-choice="right">right better →</button>'
            '<span class="chosen"></span></div></div>'
        )
    meta = {
        "run_a": str(run_a),
        "run_b": str(run_b),
        "seed": seed,
        "items": [
            {
                "index": it["index"],
                "left": it["left"],
                "category": it["a"]["category"],
                "challenge": it["a"]["challenge"],
                "prompt": it["a"]["prompt"],
            }
            for it in items
        ],
    }
    meta_json = json.dumps(meta).replace("</", "<\\/")  # a prompt cannot close the script element
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>P2 side by side</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }} .item {{ border-bottom: 1px solid #ccc; padding: .5em 0; }}
.item.current {{ background: #f4f8ff; }} .side {{ display: inline-block; margin-right: 2em; }}
img {{ width: 96px; height: 96px; image-rendering: pixelated; margin: 1px; }} .m {{ color: #666; font-size: 12px; }}
.chosen {{ margin-left: 1em; font-weight: bold; }}
</style></head><body>
<h1>Which side matches the prompt better?</h1>
<p>Click a button, or use the keys ← (left), ↓ (tie), → (right) on the highlighted prompt.
<button id="save">Save judgements (JSON)</button> <span id="progress"></span></p>
{"".join(rows)}
<script id="meta" type="application/json">{meta_json}</script>
<script>
const meta = JSON.parse(document.getElementById("meta").textContent);
const choices = {{}};
let current = 0;
function highlight(i) {{
  document.querySelectorAll(".item").forEach(e => e.classList.remove("current"));
  const el = document.getElementById("item" + i);
  if (el) {{ el.classList.add("current"); current = i; }}
}}
function choose(i, choice) {{
  choices[i] = choice;
  document.querySelector("#item" + i + " .chosen").textContent = choice;
  document.getElementById("progress").textContent = Object.keys(choices).length + " / " + meta.items.length + " judged";
  highlight(Math.min(i + 1, meta.items.length - 1));
}}
document.querySelectorAll(".item").forEach((el, i) => el.querySelectorAll("button").forEach(
  b => b.addEventListener("click", () => choose(i, b.dataset.choice))));
document.addEventListener("keydown", e => {{
  const key = {{ArrowLeft: "left", ArrowDown: "tie", ArrowRight: "right"}}[e.key];
  if (key) {{ e.preventDefault(); choose(current, key); }}
}});
function judgements() {{
  return {{run_a: meta.run_a, run_b: meta.run_b, seed: meta.seed, judgements: Object.entries(choices).map(([i, c]) => {{
    const it = meta.items[i];
    const winner = c === "tie" ? "tie" : ((c === "left") === (it.left === "A") ? "A" : "B");
    return {{...it, choice: c, winner}};
  }})}};
}}
document.getElementById("save").addEventListener("click", () => {{
  const blob = new Blob([JSON.stringify(judgements(), null, 2)], {{type: "application/json"}});
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob); a.download = "compare.json"; a.click();
}});
highlight(0);
</script></body></html>
"""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    return len(items)


def score(path: str | os.PathLike) -> dict:
    """Win rates of A and B (ties counted apart) overall, per category and per challenge.

    The winner is recomputed from `left` and `choice`, not trusted from the file.
    """
    data = json.loads(Path(path).read_text())
    judged = data.get("judgements")
    if not isinstance(judged, list):
        raise ValueError(f"{path} has no 'judgements' list; save it from the compare page")
    groups: dict[str, Counter] = defaultdict(Counter)
    for j in judged:
        if j.get("left") not in ("A", "B") or j.get("choice") not in ("left", "right", "tie"):
            raise ValueError(f"{path}: judgement for prompt {j.get('index')} lacks a valid 'left' and 'choice'")
        winner = "tie" if j["choice"] == "tie" else ("A" if (j["choice"] == "left") == (j["left"] == "A") else "B")
        for key in ("overall", f"category/{j['category']}", f"challenge/{j['challenge']}"):
            groups[key][winner] += 1

    def rates(c: Counter) -> dict:
        n = sum(c.values())
        return {"n": n, "A": c["A"] / n, "B": c["B"] / n, "tie": c["tie"] / n}

    return {"run_a": data.get("run_a"), "run_b": data.get("run_b"), **{k: rates(v) for k, v in sorted(groups.items())}}
