"""Getting a dataset onto local disk: s3:// objects or prefixes, hf:// dataset repos, MNIST."""

from __future__ import annotations

import gzip
import os
import struct
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from lathe_trainer import s3
from lathe_trainer.errors import EXIT_FAILED, BadInput, TrainerError
from lathe_trainer.log import log
from lathe_trainer.uris import SourceUri

MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # torchvision's mirror
MNIST_FILES = {"train_images": "train-images-idx3-ubyte.gz",
               "train_labels": "train-labels-idx1-ubyte.gz",
               "test_images": "t10k-images-idx3-ubyte.gz",
               "test_labels": "t10k-labels-idx1-ubyte.gz"}


def fetch(uri: SourceUri, dest: Path, patterns: list[str] | None = None) -> list[Path]:
    """Download an s3:// or hf:// dataset into `dest`; returns the local files."""
    dest.mkdir(parents=True, exist_ok=True)
    if uri.scheme == "s3":
        assert uri.s3 is not None
        return s3.fetch(uri.s3, dest)
    if uri.scheme == "hf":
        return _fetch_hf(uri.name, dest, patterns)
    raise BadInput(f"dataset {uri.raw!r} cannot be downloaded as files")


def _fetch_hf(repo_id: str, dest: Path, patterns: list[str] | None) -> list[Path]:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (GatedRepoError, LocalEntryNotFoundError,
                                        RepositoryNotFoundError)

    try:
        local = snapshot_download(repo_id, repo_type="dataset", local_dir=str(dest),
                                  allow_patterns=patterns)
    except (RepositoryNotFoundError, GatedRepoError) as exc:
        raise BadInput(f"dataset hf://{repo_id} is not found or not accessible: "
                       f"{type(exc).__name__}") from None
    except LocalEntryNotFoundError:
        raise TrainerError(f"dataset hf://{repo_id} is not in the local cache and the Hub "
                           "cannot be reached", EXIT_FAILED) from None
    files = sorted(p for p in Path(local).rglob("*") if p.is_file() and ".cache" not in p.parts)
    if not files:
        raise BadInput(f"dataset hf://{repo_id} has no files matching {patterns}")
    return files


def parse_idx(data: bytes) -> np.ndarray:
    """Parse an IDX file (the MNIST format), gzip-compressed or not, into a uint8 array."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise BadInput(f"corrupt gzip data: {exc}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise BadInput("not an unsigned-byte IDX file")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise BadInput("truncated IDX header")
    shape = struct.unpack(">" + "I" * ndim, data[4:header])
    count = int(np.prod(shape)) if shape else 0
    if len(data) - header != count:
        raise BadInput(f"IDX body has {len(data) - header} bytes, shape {shape} needs {count}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_mnist(cache: Path) -> dict[str, np.ndarray]:
    """MNIST as uint8 arrays (images N×28×28, labels N), downloaded once into `cache`.

    The mirror is $LATHE_MNIST_MIRROR (any URL urllib opens, file:// included)."""
    mirror = os.environ.get("LATHE_MNIST_MIRROR", MNIST_MIRROR)
    if not mirror.endswith("/"):
        mirror += "/"
    cache.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for name, filename in MNIST_FILES.items():
        path = cache / filename
        if not path.exists():
            url = mirror + filename
            log(f"downloading {url}")
            try:
                with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 (fixed scheme list)
                    body = resp.read()
            except (urllib.error.URLError, OSError) as exc:
                raise TrainerError(f"cannot download MNIST from {url}: {exc}",
                                   EXIT_FAILED) from None
            tmp = path.with_suffix(".part")
            tmp.write_bytes(body)
            tmp.replace(path)
        try:
            arrays[name] = parse_idx(path.read_bytes())
        except BadInput as exc:
            raise BadInput(f"MNIST file {filename}: {exc.message}") from None
    for split in ("train", "test"):
        if arrays[f"{split}_images"].shape[0] != arrays[f"{split}_labels"].shape[0]:
            raise BadInput(f"MNIST {split} images and labels differ in count")
    return arrays
