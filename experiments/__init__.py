"""Analyses and docs generators that are not part of the `vim` command: each writes what it finds into
docs/ (a table, a figure, a results file) or prints it. Run one from the repository root, with vim
installed (`make venv`), as `python -m experiments.NAME --help`:

    make_architecture     the import-layer table in docs/architecture.md (tests/test_architecture.py checks it)
    make_scaling_table    the table in docs/scaling.md, from the `vim plan` outputs in docs/plans/
    faithfulness_scaling  faithfulness and loss of Parti checkpoints against training; held-out-pair analyses
                          (docs/results/faithfulness-scaling/: results.jsonl, table.md, scaling.png, ...)
    candidates            a bundle's candidates per caption: what a perfect chooser could keep against what
                          the scorer keeps, other scorers, pools of guidance scales, the scorer's misses
    tokenizer_compare     tokenizers side by side: PSNR, LPIPS, codebook, rFID inputs, photos
                          (docs/results/tokenizer-whole-loss/)
    generator_grid        generators' images of the same test captions side by side, with the parser's verdict

Images are drawn only through `vim.generate.Generator` (and `draw_images`), the sampler vim itself uses.
"""
