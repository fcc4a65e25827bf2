"""Resumable checkpoints under `<run prefix>checkpoints/<step>/`.

A checkpoint's files are uploaded first and its `COMPLETE` marker last:
`{"step", "epoch", "files": [{path, size, sha256}]}`. On start the trainer walks the
checkpoints from the newest step down and resumes from the first whose COMPLETE parses and whose
every listed file is present with the listed size and sha256; the others are skipped with a log
line saying why (docs/contracts.md).

Every object of a checkpoint, COMPLETE included, is written with the tag
`lathe.dev/retention=checkpoint` (s3.CHECKPOINT_TAGS): the bucket's lifecycle rule expires tagged
objects, and a lifecycle filter cannot match `checkpoints/` in the middle of a key. The final
weights (checkpoint/), progress.json and metadata.json are written untagged and never expire.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lathe_trainer import s3
from lathe_trainer.files import FileEntry, describe_dir, sha256_file
from lathe_trainer.log import log
from lathe_trainer.uris import S3Uri

MARKER = "COMPLETE"


@dataclass(frozen=True)
class Restored:
    step: int
    epoch: int
    directory: Path  # local copy of the checkpoint's files, verified


def checkpoints_prefix(output: S3Uri) -> S3Uri:
    return output.child("checkpoints/")


def save(local_dir: Path, output: S3Uri, step: int, epoch: int) -> S3Uri:
    """Upload `local_dir` as checkpoints/<step>/, COMPLETE last. Rank 0 only."""
    prefix = checkpoints_prefix(output).child(f"{step}/")
    marker_uri = prefix.child(MARKER)
    # A retried attempt may save a step an earlier one (partly) saved: the step is cleared first,
    # its old marker before any file, so that it holds exactly one attempt's checkpoint and no
    # marker vouches for a mix (usually nothing is there: one LIST).
    s3.delete_prefix(prefix, first=marker_uri)
    files = describe_dir(local_dir)
    s3.upload_dir(local_dir, prefix, tags=s3.CHECKPOINT_TAGS)
    s3.put_json(marker_uri, {"step": step, "epoch": epoch, "files": files},
                tags=s3.CHECKPOINT_TAGS)
    log(f"checkpoint saved: {prefix} (epoch {epoch}, step {step})")
    return prefix


def _parse_marker(raw: bytes | None, step: int) -> tuple[int, list[FileEntry]] | str:
    """(epoch, files) of a valid marker, or the reason it is not valid."""
    if raw is None:
        return "no COMPLETE marker (partial)"
    try:
        marker: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "COMPLETE is not valid JSON"
    if not isinstance(marker, dict) or marker.get("step") != step \
            or not isinstance(marker.get("epoch"), int) or not isinstance(marker.get("files"), list):
        return "COMPLETE does not describe this step"
    files: list[FileEntry] = []
    for entry in marker["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) \
                or not isinstance(entry.get("size"), int) \
                or not isinstance(entry.get("sha256"), str) \
                or ".." in entry["path"].split("/") or entry["path"].startswith("/"):
            return "COMPLETE has a malformed file entry"
        files.append({"path": entry["path"], "size": entry["size"], "sha256": entry["sha256"]})
    if not files:
        return "COMPLETE lists no files"
    return marker["epoch"], files


def _verify(prefix: S3Uri, files: list[FileEntry], dest: Path) -> str | None:
    """Download and check every listed file; the reason for rejecting, or None if all good."""
    sizes = dict(s3.list_objects(prefix))
    for entry in files:
        key = prefix.child(entry["path"]).key
        if key not in sizes:
            return f"{entry['path']} is missing"
        if sizes[key] != entry["size"]:
            return f"{entry['path']} has size {sizes[key]}, COMPLETE says {entry['size']}"
    for entry in files:
        local = dest / entry["path"]
        s3.download_file(prefix.child(entry["path"]), local)
        if sha256_file(local) != entry["sha256"]:
            return f"{entry['path']} does not match its sha256"
    return None


def steps(output: S3Uri) -> list[int]:
    """Steps of the checkpoint directories under the run prefix, newest first."""
    found = []
    for name in s3.list_dirs(checkpoints_prefix(output)):
        if name.isdigit():
            found.append(int(name))
    return sorted(found, reverse=True)


def restore(output: S3Uri, step: int, dest_root: Path) -> Restored | str:
    """Download and verify checkpoints/<step>/; the Restored copy, or why it is unusable."""
    prefix = checkpoints_prefix(output).child(f"{step}/")
    parsed = _parse_marker(s3.get_bytes(prefix.child(MARKER)), step)
    if isinstance(parsed, str):
        return parsed
    epoch, files = parsed
    dest = dest_root / str(step)
    shutil.rmtree(dest, ignore_errors=True)
    reason = _verify(prefix, files, dest)
    if reason is not None:
        shutil.rmtree(dest, ignore_errors=True)
        return reason
    return Restored(step=step, epoch=epoch, directory=dest)


def restore_latest(output: S3Uri, dest_root: Path) -> Restored | None:
    """Download and verify the newest complete checkpoint; None if there is none."""
    for step in steps(output):
        result = restore(output, step, dest_root)
        prefix = checkpoints_prefix(output).child(f"{step}/")
        if isinstance(result, str):
            log(f"skipping checkpoint {prefix}: {result}")
            continue
        log(f"resuming from checkpoint {prefix} (epoch {result.epoch}, step {step})")
        return result
    return None
