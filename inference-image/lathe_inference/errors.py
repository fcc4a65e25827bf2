"""Errors of model loading, apart from fetch.py so that importing them doesn't load the AWS SDK."""


class ModelSourceError(RuntimeError):
    """The model can't be fetched: bad URI, missing prefix, access denied, S3 unreachable."""


class ChecksumError(ModelSourceError):
    """The fetched files don't match the run's metadata.json; the model must not be served."""
