"""The Gradio demo (`vim demo`): text → images with a bundle, the tokenizer, and the model card."""
