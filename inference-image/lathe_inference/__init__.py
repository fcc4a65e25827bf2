"""Lathe's model server: loads a model from S3 or the Hugging Face Hub and serves it over HTTP."""

__version__ = "0.1.0"
