"""Launch the Gradio demo: `python apps/demo.py [FLAGS]` is `vim demo [FLAGS]` (vim/demo/app.py)."""

import sys

from vim.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", *sys.argv[1:]]))
