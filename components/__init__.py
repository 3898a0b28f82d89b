"""Gradio UI components (the only package that imports gradio)."""
