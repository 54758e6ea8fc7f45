"""Demo latency and load: seconds from request to images, and 20 concurrent clients on loopback.

    python bench/demo_latency.py [--checkpoint checkpoints/shapes-tiny] [--repeats 5] [--clients 20]
    python bench/demo_latency.py --checkpoint checkpoints/emoji-tiny \
        --prompt "a 3D emoji of a red apple" --edit-prompt "a 3D emoji of a green apple"

Starts the Gradio app in-process on 127.0.0.1, then (1) asks for 4 images at the demo's default settings
(the bundle's recommended sampling, best 4 of 16 by the scorer when the bundle has one)
`repeats` times through gradio_client, as the browser's Generate button does, and fetches the 4 gallery
images over one kept-alive connection, as the browser then does: that is the latency. The same requests
left to gradio_client's own downloads (a new connection per file, and the download list's 4 PNGs too,
which a browser fetches only when clicked) are timed beside it. (2) asks the Edit tab, as its Edit button
does, to redraw a box of a generated image into 4 images (best 4 of 16 likewise), `repeats` times: the
edit latency, the original and mask previews fetched with the edits. (3) lets `clients`
clients send 3 requests each at once against a queue of 16: every request must be answered or
refused with "queue is full", and the server must answer afterwards. Prints one JSON object last;
`ratio` is null (no peer ships a demo); the headline figures are `median_latency_s` and
`median_edit_latency_s`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import socket
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO

import httpx
from gradio_client import Client, handle_file
from PIL import Image

from vim.bundle import load_bundle
from vim.config import SampleConfig
from vim.demo.app import Demo, build_app

PROMPT = "a big red circle left of a small blue square"
EDIT_PROMPT = "a big red circle left of a small green square"  # the square recolored
EDIT_BOX = "32,0,64,64"  # the right half of a 64-pixel image: where the square is asked to be


def request(client: Client, prompt: str, defaults: SampleConfig, candidates: int, n: int = 4, seed: int = 0):
    """One request at the demo's default settings: the bundle's recommended sampling and its reranking."""
    d = defaults
    args = (prompt, n, d.cfg_scale, d.temperature, d.top_k, d.top_p, seed, candidates, False)
    return client.predict(*args, api_name="/generate")


def edit_request(client: Client, image_path: str, prompt: str, defaults: SampleConfig, candidates: int, seed: int = 0):
    """The Edit button: redraw EDIT_BOX of the image to `prompt`, at the demo's default settings."""
    d = defaults
    editor = {"background": handle_file(image_path), "layers": [], "composite": None}
    args = (editor, "box", EDIT_BOX, 0, prompt, 4, d.cfg_scale, d.temperature, d.top_k, d.top_p, seed, candidates)
    return client.predict(*args, False, api_name="/edit")


def fetch(http: httpx.Client, gallery) -> list[Image.Image]:
    """The gallery's images over one kept-alive connection, as the browser fetches them."""
    return [Image.open(BytesIO(http.get(item["image"]["url"]).raise_for_status().content)) for item in gallery]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--prompt", default=PROMPT, help="what every generate request asks for")
    parser.add_argument("--edit-prompt", default=EDIT_PROMPT, help="the caption of every edit request")
    args = parser.parse_args()
    start = time.perf_counter()
    demo = Demo(load_bundle(args.checkpoint))
    defaults = demo.bundle.parti_cfg.sample
    candidates = demo.default_candidates  # the demo's default, as in build_app
    compile_s = demo.warm_up()
    app = build_app(demo, queue_size=16)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    startup_s = time.perf_counter() - start
    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    browser_like = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
    side = demo.image_size
    latencies, client_download_latencies = [], []
    with httpx.Client() as http:  # one connection for the images, as a browser keeps it alive
        for i in range(args.repeats):
            t = time.perf_counter()
            gallery, _, _ = request(browser_like, args.prompt, defaults, candidates, seed=i)
            images = fetch(http, gallery)
            latencies.append(time.perf_counter() - t)
            assert len(images) == 4 and all(im.size == (side, side) for im in images), [im.size for im in images]
            t = time.perf_counter()
            gallery, _, _ = request(client, args.prompt, defaults, candidates, seed=i)
            client_download_latencies.append(time.perf_counter() - t)
            assert len(gallery) == 4
        scene_path = request(client, args.prompt, defaults, candidates, n=1)[0][0][
            "image"
        ]  # this client downloads: a path
        edit_latencies = []
        for i in range(args.repeats):
            t = time.perf_counter()
            gallery, _, _ = edit_request(browser_like, scene_path, args.edit_prompt, defaults, candidates, seed=i)
            images = fetch(http, gallery)
            edit_latencies.append(time.perf_counter() - t)
            assert len(images) == 6, len(images)  # the original and the mask, then the 4 edits
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def one_client(c: int) -> list[str]:
        own = Client(f"http://127.0.0.1:{port}/", verbose=False)
        outcomes = []
        for r in range(3):
            try:
                outcomes.append(
                    "ok" if len(request(own, args.prompt, defaults, candidates, seed=100 * c + r)[0]) == 4 else "wrong"
                )
            except Exception as e:
                outcomes.append("refused" if "queue" in str(e).lower() else f"error: {e}")
        own.close()
        return outcomes

    t = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        outcomes = [o for os_ in pool.map(one_client, range(args.clients)) for o in os_]
    load_s = time.perf_counter() - t
    after = request(client, args.prompt, defaults, candidates, n=1)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    client.close()
    browser_like.close()
    app.close()
    result = {
        "bench": "demo_latency",
        "checkpoint": str(demo.bundle.path),
        "settings": {**dataclasses.asdict(defaults), "candidates": candidates},
        "startup_s": round(startup_s, 2),
        "compile_s": round(compile_s, 2),
        "latency_4_images_s": [round(x, 3) for x in latencies],
        "median_latency_s": round(statistics.median(latencies), 3),
        "latency_gradio_client_downloads_s": [round(x, 3) for x in client_download_latencies],
        "median_latency_gradio_client_downloads_s": round(statistics.median(client_download_latencies), 3),
        "prompt": args.prompt,
        "edit": {"prompt": args.edit_prompt, "box": EDIT_BOX, "candidates": candidates},
        "edit_latency_4_images_s": [round(x, 3) for x in edit_latencies],
        "median_edit_latency_s": round(statistics.median(edit_latencies), 3),
        "load": {
            "clients": args.clients,
            "requests": len(outcomes),
            "answered": outcomes.count("ok"),
            "refused_queue_full": outcomes.count("refused"),
            "other": [o for o in outcomes if o not in ("ok", "refused")],
            "seconds": round(load_s, 1),
            "healthy_after": len(after[0]) == 1,
            "max_rss_mb_before": round(rss_before),
            "max_rss_mb_after": round(rss_after),
        },
        "ratio": None,  # no peer ships a demo to compare with
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
