"""Built-in tasks: text-generation (causal LM fine-tuning) and image-classification (small CNN)."""
