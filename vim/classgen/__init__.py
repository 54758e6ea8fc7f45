"""The ViT-VQGAN paper's second stage: a decoder-only Transformer over image tokens, class-conditional
(a learned class embedding is the first input) or unconditional (the null class), and the linear probe
of its intermediate features. Built from Parti's blocks, sampler pieces and training task."""
