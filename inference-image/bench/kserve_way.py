"""KServe's storage initializer's S3 download, reproduced for the benchmark.

What kserve/kserve python/storage/kserve_storage/kserve_storage.py (``Storage._download_s3``) does,
read from its source: list the prefix with ``boto3.resource("s3").Bucket(b).objects.filter``, skip
folder markers and empty objects, then ``multiprocessing.Pool(min(S3_MAX_FILE_CONCURRENCY=4, files))``
whose initializer makes one ``boto3.resource("s3")`` per process, and ``pool.map`` of
``bucket.download_file(key, path)`` (whole files, 4 at a time). ``download_file`` is boto3's managed
transfer with its default TransferConfig: objects over 8 MiB are fetched as 8 MiB ranged GETs by up to
10 threads per file, so 4 files in flight can hold up to 40 connections. No checksum is verified.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

S3_MAX_FILE_CONCURRENCY = 4  # KServe's default (env S3_MAX_FILE_CONCURRENCY)

_worker_bucket: Any = None


def _init_worker(endpoint: str, bucket: str) -> None:
    global _worker_bucket
    import boto3
    from botocore.client import Config

    # KServe's get_S3_config() is a default Config() unless anonymous/virtual/accelerate is asked for.
    _worker_bucket = boto3.resource("s3", endpoint_url=endpoint, config=Config()).Bucket(bucket)


def _download_one(task: tuple[str, str]) -> str:
    key, target = task
    _worker_bucket.download_file(key, target)
    return key


def download_kserve_way(endpoint: str, bucket: str, prefix: str, dest: Path) -> int:
    """Every object under ``prefix`` into ``dest``, KServe's way; returns the number of files."""
    import boto3

    tasks: list[tuple[str, str]] = []
    for obj in boto3.resource("s3", endpoint_url=endpoint).Bucket(bucket).objects.filter(Prefix=prefix):
        if obj.key.endswith("/") or obj.size == 0:
            continue
        target = dest / obj.key.removeprefix(prefix).lstrip("/")
        os.makedirs(target.parent, exist_ok=True)
        tasks.append((obj.key, str(target)))
    if not tasks:
        raise RuntimeError(f"no objects under {prefix}")
    # KServe uses the platform's default start method (fork on Linux).
    with multiprocessing.get_context("fork").Pool(
        processes=min(S3_MAX_FILE_CONCURRENCY, len(tasks)), initializer=_init_worker, initargs=(endpoint, bucket)
    ) as pool:
        pool.map(_download_one, tasks)
    return len(tasks)
