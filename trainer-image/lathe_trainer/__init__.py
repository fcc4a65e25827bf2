"""Lathe trainer: the program inside every TrainingRun pod (see ../README.md)."""

__version__ = "0.1.0"
