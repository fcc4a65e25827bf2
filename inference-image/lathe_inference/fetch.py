"""Fetching a model prefix from S3 to local disk: parallel ranged GETs, then checksum verification.

A model at ``s3://bucket/models/<slug>/<runId>/checkpoint/`` is fetched by listing the prefix,
splitting every object into parts of ``part_size`` bytes and downloading the parts with
``GetObject`` + ``Range`` from a thread pool, each part written at its offset with ``os.pwrite``
into a preallocated file. Memory stays bounded (one 1 MiB buffer per worker) whatever the model's
size. When ``../metadata.json`` exists beside ``checkpoint/`` (the trainer writes it last, see
docs/contracts.md), every file's size is checked against it before anything is downloaded and every
file's sha256 as it downloads (each file is hashed in order as its parts arrive, so only its last
part is hashed after its last byte); any difference raises :class:`ChecksumError` and nothing is served.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from .errors import ChecksumError, ModelSourceError

__all__ = ["ChecksumError", "ModelSourceError", "fetch_model", "download_parallel", "download_single_stream"]

log = logging.getLogger("lathe_inference.fetch")

CHUNK = 1 << 20
# The loader's defaults (LATHE_DOWNLOAD_CONCURRENCY, LATHE_DOWNLOAD_PART_MB): the best of the sweep of
# bench/download_bench.py through toxiproxy with S3's per-connection limits (90 MB/s, 15 +/- 5 ms; the
# README's performance section has the table). Over 9 runs, 8 MiB x 64 workers and 16 MiB x 64 tied
# for the best mean (602 and 597 MB/s, 85-93% of each run's ceiling), ahead of 8 MiB x 32 (592) and
# 16 MiB x 32 (589): a plateau within 3%, whose best cell moves from run to run. Of the tie, 16 MiB
# parts: half the GETs (each signed, parsed and billed), and faster where the network is not the
# limit (loopback: 1130-1240 MB/s against 990).
# Below 16 workers the rate falls (8: ~65% of the ceiling); 32-64 MiB parts leave too few parts of a
# ~500 MB model to keep the connections busy. 8-16 MB ranged GETs are also AWS's own guidance; a
# worker costs a socket and at most a 1 MiB read buffer.
DEFAULT_CONCURRENCY = 64
DEFAULT_PART_MB = 16
COMPLETE_MARKER = ".lathe-complete.json"


@dataclass(frozen=True)
class RemoteFile:
    key: str
    rel: str
    size: int
    etag: str = ""


@dataclass
class FetchResult:
    local_dir: Path
    files: list[RemoteFile]
    bytes: int
    seconds: float
    verified: bool
    cached: bool = False
    metadata: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def mb_per_s(self) -> float:
        return self.bytes / (1 << 20) / self.seconds if self.seconds > 0 else float("inf")


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> (``bucket``, ``a/b/``): a model is always a prefix (a folder)."""
    if not uri.startswith("s3://"):
        raise ModelSourceError(f"not an s3:// URI: {uri!r}")
    rest = uri[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ModelSourceError(f"no bucket in {uri!r}")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def make_client(max_pool_connections: int = 32) -> Any:
    """An S3 client from the standard AWS environment (IRSA on EKS, AWS_ENDPOINT_URL_S3 locally)."""
    import boto3
    from botocore.config import Config

    cfg = Config(
        max_pool_connections=max(10, max_pool_connections),
        retries={"max_attempts": 5, "mode": "standard"},
        tcp_keepalive=True,
        connect_timeout=10,
        read_timeout=60,
    )
    return boto3.session.Session().client("s3", config=cfg)


def _safe_rel(rel: str) -> str:
    p = PurePosixPath(rel)
    if not rel or p.is_absolute() or any(part in ("..", "") for part in p.parts) or rel.endswith("/"):
        raise ModelSourceError(f"refusing unsafe object path {rel!r}")
    return str(p)


def list_prefix(client: Any, bucket: str, prefix: str) -> list[RemoteFile]:
    files: list[RemoteFile] = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                rel = key[len(prefix) :]
                if not rel or rel.endswith("/"):
                    continue  # folder markers some tools write
                files.append(RemoteFile(key, _safe_rel(rel), int(obj["Size"]), obj.get("ETag", "")))
    except ClientError as e:
        raise ModelSourceError(f"cannot list s3://{bucket}/{prefix}: {e}") from e
    files.sort(key=lambda f: f.rel)
    return files


def metadata_key_for(prefix: str) -> str | None:
    """``models/x/<runId>/checkpoint/`` -> ``models/x/<runId>/metadata.json``; else None."""
    parts = prefix.rstrip("/").split("/")
    if parts and parts[-1] == "checkpoint":
        return "/".join(parts[:-1] + ["metadata.json"])
    return None


def read_metadata(client: Any, bucket: str, prefix: str) -> dict[str, Any] | None:
    key = metadata_key_for(prefix)
    if key is None:
        return None
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise ModelSourceError(f"cannot read s3://{bucket}/{key}: {e}") from e
    try:
        meta = json.loads(body)
    except ValueError as e:
        raise ChecksumError(f"s3://{bucket}/{key} is not valid JSON ({e}); refusing to serve") from e
    if not isinstance(meta, dict) or not isinstance(meta.get("files"), list):
        raise ChecksumError(f"s3://{bucket}/{key} has no 'files' list; refusing to serve")
    return meta


def expected_files(meta: dict[str, Any]) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for entry in meta["files"]:
        try:
            rel = _safe_rel(str(entry["path"]))
            out[rel] = (int(entry["size"]), str(entry["sha256"]).lower())
        except (KeyError, TypeError, ValueError) as e:
            raise ChecksumError(f"metadata.json has a malformed files entry {entry!r}") from e
    return out


def check_listing(files: list[RemoteFile], expected: dict[str, tuple[int, str]]) -> None:
    """Sizes and names, before a byte is downloaded: cheap and catches truncated uploads."""
    present = {f.rel: f for f in files}
    missing = sorted(set(expected) - set(present))
    if missing:
        raise ChecksumError(f"checksum mismatch: {missing[0]} is listed in metadata.json but missing in S3")
    extra = sorted(set(present) - set(expected))
    if extra:
        raise ChecksumError(f"checksum mismatch: {extra[0]} is in S3 but not listed in metadata.json")
    for rel, (size, _) in sorted(expected.items()):
        if present[rel].size != size:
            raise ChecksumError(
                f"checksum mismatch: {rel} is {present[rel].size} bytes in S3, metadata.json says {size}"
            )


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK * 4):
            h.update(chunk)
    return h.hexdigest()


class _StreamingSha256:
    """sha256 of a file whose parts land out of order, hashed while the rest still downloads.

    Parts end up in any order; the hash must see the bytes in order. Each finished part is recorded,
    and the worker that finished it hashes (from the page cache, with pread) the contiguous run of
    finished parts from the hashed prefix onwards, unless another worker already does: then that one
    picks it up before it stops (both decisions under the lock). So hashing keeps up with the download
    instead of waiting for a whole file, and only the last part's bytes are hashed after the last
    byte arrives. hashlib releases the GIL on large buffers, so the downloads go on meanwhile."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.h = hashlib.sha256()
        self.hashed = 0  # bytes [0, hashed) are in self.h
        self.finished: dict[int, int] = {}  # start -> end (inclusive) of finished, unhashed parts
        self.busy = False
        self.lock = threading.Lock()

    def part_done(self, start: int, end: int) -> None:
        with self.lock:
            self.finished[start] = end
            if self.busy:
                return
            self.busy = True
        fd = -1
        try:
            while True:
                with self.lock:
                    end = self.finished.pop(self.hashed, -1)
                    if end < 0:
                        self.busy = False
                        return
                if fd < 0:
                    fd = os.open(self.path, os.O_RDONLY)
                offset = self.hashed
                while offset <= end:
                    chunk = os.pread(fd, min(CHUNK * 4, end + 1 - offset), offset)
                    if not chunk:
                        raise OSError(f"{self.path} ends at {offset}, before byte {end}")
                    self.h.update(chunk)
                    offset += len(chunk)
                self.hashed = offset  # only the busy worker writes it
        except BaseException:
            with self.lock:
                self.busy = False
            raise
        finally:
            if fd >= 0:
                os.close(fd)

    def hexdigest(self, size: int) -> str:
        """The digest once every part is in; a file not hashed to its end reads as a mismatch."""
        if self.hashed != size:
            return f"incomplete ({self.hashed} of {size} bytes hashed)"
        return self.h.hexdigest()


def _download_part(client: Any, bucket: str, f: RemoteFile, fd: int, start: int, end: int) -> None:
    """Bytes [start, end] of one object into fd at the same offset; retried on a broken stream."""
    want = end - start + 1
    for attempt in range(1, 4):
        try:
            kwargs: dict[str, Any] = {"Bucket": bucket, "Key": f.key, "Range": f"bytes={start}-{end}"}
            if f.etag:
                kwargs["IfMatch"] = f.etag  # every part from the same version of the object
            body = client.get_object(**kwargs)["Body"]
            offset = start
            try:
                while chunk := body.read(CHUNK):
                    os.pwrite(fd, chunk, offset)
                    offset += len(chunk)
            finally:
                body.close()
            if offset - start != want:
                raise OSError(f"short read: {offset - start} of {want} bytes")
            return
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "412"):
                raise ModelSourceError(f"s3://{bucket}/{f.key} changed while downloading") from e
            if attempt == 3:
                raise ModelSourceError(f"cannot download s3://{bucket}/{f.key}: {e}") from e
        except OSError as e:  # connection reset, short read: try the part again
            if attempt == 3:
                raise ModelSourceError(f"cannot download s3://{bucket}/{f.key}: {e}") from e
        log.warning("retrying part %d-%d of %s (attempt %d)", start, end, f.key, attempt + 1)
        time.sleep(0.2 * attempt)


def download_parallel(
    client: Any,
    bucket: str,
    files: Iterable[RemoteFile],
    dest: Path,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    part_size: int = DEFAULT_PART_MB << 20,
    on_file_done: Callable[[RemoteFile, Path], None] | None = None,
    on_part_done: Callable[[RemoteFile, int, int], None] | None = None,
) -> None:
    """Every file into dest/<rel>, all parts of all files sharing one pool of ``concurrency`` workers.

    ``on_part_done(file, start, end)`` runs in the worker that wrote bytes [start, end], and
    ``on_file_done`` in the worker that finished a file's last part, after its ``on_part_done``."""
    files = list(files)
    fds: dict[str, int] = {}
    remaining: dict[str, int] = {}
    lock = threading.Lock()
    parts: list[tuple[RemoteFile, int, int]] = []
    try:
        for f in files:
            path = dest / f.rel
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            fds[f.rel] = fd
            os.ftruncate(fd, f.size)
            n = 0
            for start in range(0, f.size, part_size):
                parts.append((f, start, min(start + part_size, f.size) - 1))
                n += 1
            remaining[f.rel] = n
            if n == 0 and on_file_done is not None:
                on_file_done(f, path)
        # Largest files first so the tail of the download isn't one big file on one connection.
        parts.sort(key=lambda p: (-p[0].size, p[0].rel, p[1]))

        def work(p: tuple[RemoteFile, int, int]) -> None:
            f, start, end = p
            _download_part(client, bucket, f, fds[f.rel], start, end)
            if on_part_done is not None:
                on_part_done(f, start, end)
            with lock:
                remaining[f.rel] -= 1
                done = remaining[f.rel] == 0
            if done and on_file_done is not None:
                on_file_done(f, dest / f.rel)

        with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="s3-get") as pool:
            # list() re-raises the first worker exception; the pool's exit waits for the rest.
            list(pool.map(work, parts))
    finally:
        for fd in fds.values():
            os.close(fd)


def download_single_stream(client: Any, bucket: str, files: Iterable[RemoteFile], dest: Path) -> None:
    """One GET per object, one object at a time: the baseline the benchmark compares against."""
    for f in files:
        path = dest / f.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        body = client.get_object(Bucket=bucket, Key=f.key)["Body"]
        with open(path, "wb") as out:
            while chunk := body.read(CHUNK):
                out.write(chunk)


def _cache_dir(cache_root: Path, uri: str) -> Path:
    return cache_root / hashlib.sha256(uri.encode()).hexdigest()[:16]


def _listing_fingerprint(files: list[RemoteFile]) -> list[list[Any]]:
    return [[f.rel, f.size, f.etag] for f in files]


def fetch_model(
    uri: str,
    cache_root: str | os.PathLike[str],
    *,
    client: Any | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    part_size: int = DEFAULT_PART_MB << 20,
) -> FetchResult:
    """Fetch ``uri`` (an S3 prefix) into the cache, verified; reuse a complete earlier fetch."""
    bucket, prefix = parse_s3_uri(uri)
    client = client or make_client(concurrency)
    t0 = time.monotonic()
    files = list_prefix(client, bucket, prefix)
    if not files:
        raise ModelSourceError(f"no objects under s3://{bucket}/{prefix}")
    meta = read_metadata(client, bucket, prefix)
    expected: dict[str, tuple[int, str]] | None = None
    if meta is not None:
        expected = expected_files(meta)
        check_listing(files, expected)
    else:
        log.warning("no metadata.json beside s3://%s/%s: files are not checksum-verified", bucket, prefix)

    root = Path(cache_root)
    final = _cache_dir(root, uri)
    marker = final / COMPLETE_MARKER
    fingerprint = _listing_fingerprint(files)
    if marker.is_file():
        try:
            same = json.loads(marker.read_text()).get("files") == fingerprint
        except ValueError:
            same = False
        if same:
            # The cache volume outlives a container restart, not a pod; re-verify what's on disk.
            try:
                if expected is not None:
                    _verify_all(final, files, expected, concurrency)
                log.info("model cache hit for %s at %s", uri, final)
                return FetchResult(final, files, 0, time.monotonic() - t0, expected is not None, True, meta)
            except ChecksumError as e:
                log.warning("cached copy of %s is damaged (%s); downloading it again", uri, e)

    root.mkdir(parents=True, exist_ok=True)
    work = root / f"{final.name}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    hashers = {f.rel: _StreamingSha256(work / f.rel) for f in files} if expected is not None else {}

    def hash_part(f: RemoteFile, start: int, end: int) -> None:
        hashers[f.rel].part_done(start, end)

    try:
        download_parallel(
            client, bucket, files, work, concurrency=concurrency, part_size=part_size,
            on_part_done=hash_part if expected is not None else None,
        )
        if expected is not None:
            mismatches: list[str] = []
            for f in files:
                digest = hashers[f.rel].hexdigest(f.size)
                if digest != expected[f.rel][1]:
                    mismatches.append(
                        f"checksum mismatch: {f.rel} has sha256 {digest}, metadata.json says {expected[f.rel][1]}"
                    )
            if mismatches:
                raise ChecksumError(sorted(mismatches)[0])
        (work / COMPLETE_MARKER).write_text(json.dumps({"uri": uri, "files": fingerprint}))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(work, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = sum(f.size for f in files)
    return FetchResult(final, files, total, time.monotonic() - t0, expected is not None, False, meta)


def _verify_all(
    local: Path, files: list[RemoteFile], expected: dict[str, tuple[int, str]], concurrency: int
) -> None:
    def one(f: RemoteFile) -> str | None:
        path = local / f.rel
        if not path.is_file() or path.stat().st_size != f.size:
            return f"checksum mismatch: cached {f.rel} is missing or has the wrong size"
        digest = sha256_file(path)
        if digest != expected[f.rel][1]:
            return f"checksum mismatch: {f.rel} has sha256 {digest}, metadata.json says {expected[f.rel][1]}"
        return None

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, 8))) as pool:
        problems = [p for p in pool.map(one, files) if p]
    if problems:
        raise ChecksumError(sorted(problems)[0])
