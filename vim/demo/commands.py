"""`vim demo`: the Gradio demo on a bundle (vim/demo/app.py).

vim demo                                   # the bundled models, http://127.0.0.1:7860
vim demo --checkpoint path/to/bundle --port 8000 --host 0.0.0.0 --auth-file ~/.vim-demo-users
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable


def cmd_demo(args: argparse.Namespace) -> None:
    from vim.demo import app

    app.launch(
        args.checkpoint,
        host=args.host,
        port=args.port,
        queue_size=args.queue_size,
        auth=app.resolve_auth(args.auth, args.auth_file, os.environ),  # warns when --host is open and this is None
        max_file_size=args.max_file_size if args.max_file_size is not None else app.DEFAULT_MAX_FILE_SIZE,
        root_path=args.root_path,
    )


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(sub, "demo", cmd_demo, "launch the Gradio demo on a bundle", config=False)
    p.add_argument(
        "--checkpoint",
        action="append",
        help="bundle folder; repeat it for a tab per model, the first open (default: $VIM_CHECKPOINT, else "
        "checkpoints/shapes-tiny and every other bundle in checkpoints/)",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--queue-size", type=int, default=16, help="requests waiting beyond this are refused")
    password = p.add_mutually_exclusive_group()
    password.add_argument("--auth", metavar="USER:PASS", help="ask for this login (ps shows it: prefer the next two)")
    password.add_argument("--auth-file", metavar="PATH", help="ask for a login from this file of user:password lines")
    p.epilog = "Without --auth/--auth-file, $VIM_DEMO_AUTH=user:password asks for that login."
    p.add_argument("--max-file-size", help="largest upload accepted: 10mb, 500kb, bytes (default: 10mb)")
    p.add_argument("--root-path", help="URL path (/vim) or full URL the demo is served under behind a reverse proxy")
