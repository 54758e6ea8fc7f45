"""vim: autoregressive text-to-image generation (ViT-VQGAN tokenizer + Parti generator) in JAX."""

from vim.allocator import keep_freed_memory

keep_freed_memory()  # before JAX starts its threads: see vim/allocator.py
