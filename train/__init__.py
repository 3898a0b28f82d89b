"""Training: SFT, EMA-GRPO, data loading, evaluation, feedback → dataset → retrain (never imports gradio)."""
