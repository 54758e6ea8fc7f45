"""vim: autoregressive text-to-image generation (ViT-VQGAN tokenizer + Parti generator) in JAX."""
