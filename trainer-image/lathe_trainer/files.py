"""Local file helpers: sha256 and the `{path, size, sha256}` listings of metadata and COMPLETE."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TypedDict


class FileEntry(TypedDict):
    path: str
    size: int
    sha256: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe_dir(root: Path) -> list[FileEntry]:
    """Every regular file under `root`, relative to it, sorted by path."""
    entries: list[FileEntry] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        entries.append({"path": path.relative_to(root).as_posix(), "size": path.stat().st_size,
                        "sha256": sha256_file(path)})
    return entries
