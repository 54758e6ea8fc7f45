"""`python -m vim.cli …` is the `vim` command."""

import sys

from vim.cli import main

sys.exit(main())
