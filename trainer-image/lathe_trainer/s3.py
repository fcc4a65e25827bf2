"""S3 access through boto3 (IRSA on EKS; AWS_ENDPOINT_URL_S3 and static keys locally).

Every write and every delete goes through this module, which refuses both on any rank but 0.

Deletes: the trainer deletes only what a retried attempt of the same run replaces, under a run's
`checkpoint/` (leftover final weights) and `checkpoints/<step>/` (the COMPLETE marker of a step it
saves again). Its IAM role allows s3:DeleteObject there and nowhere else (terraform/irsa.tf,
statement DeleteReplacedCheckpointObjects), and `delete` refuses any other key, so a new delete
elsewhere fails in the local tests too, where MinIO's root keys would allow it. A denied delete is
one clear error line, like any other denied call.

Writers may pass object tags (sent as `x-amz-tagging` on the PutObject or CreateMultipartUpload
itself, so an object never exists untagged). Intermediate checkpoints carry CHECKPOINT_TAGS, which
the bucket's lifecycle rule `expire-intermediate-checkpoints` (terraform/s3.tf) keys on; nothing
else is tagged. Tags only save storage, so a store that cannot tag (a NotImplemented answer) or a
role without s3:PutObjectTagging (AccessDenied on the tagged write, not on an untagged one) never
fails a run: the object is written untagged, one warning says why, and later writes skip tagging.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config as BotoConfig
from botocore.exceptions import (BotoCoreError, ClientError, EndpointConnectionError,
                                 NoCredentialsError, PartialCredentialsError)

from lathe_trainer.errors import EXIT_FAILED, BadInput, TrainerError
from lathe_trainer.log import log
from lathe_trainer.uris import S3Uri

_client: Any = None
_may_write = True
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_DENIED = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
           "InvalidToken", "AllAccessDisabled"}

# The tag of the lifecycle rule `expire-intermediate-checkpoints` (terraform/s3.tf).
RETENTION_TAG = "lathe.dev/retention"
CHECKPOINT_TAGS: Mapping[str, str] = {RETENTION_TAG: "checkpoint"}
# Answers to a tagged write after which the same write is retried untagged.
_TAGGING_UNSUPPORTED = {"NotImplemented", "501"}
_tagging = True  # False once the store or the role has refused tags (see the module docstring)

# Keys `delete` accepts: <...>/<slug>/<runId>/checkpoint/<file> or .../checkpoints/<step>/<file>,
# the shape of the trainer role's s3:DeleteObject resources models/*/*/checkpoint(s)/*.
_DELETABLE = re.compile(r"(?:^|/)[^/]+/[^/]+/checkpoints?/[^/].*$")


def set_may_write(allowed: bool) -> None:
    """Only rank 0 writes artifacts; the other ranks call this with False."""
    global _may_write
    _may_write = allowed


def client() -> Any:
    global _client
    if _client is None:
        cfg = BotoConfig(retries={"max_attempts": 8, "mode": "standard"}, connect_timeout=10,
                         read_timeout=120,
                         s3={"addressing_style": os.environ.get("LATHE_S3_ADDRESSING", "auto")})
        _client = boto3.session.Session().client("s3", config=cfg)
    return _client


def _client_error(exc: BaseException) -> ClientError | None:
    """The ClientError behind `exc` (boto3's upload_file wraps it in S3UploadFailedError)."""
    if isinstance(exc, ClientError):
        return exc
    if isinstance(exc, S3UploadFailedError) and isinstance(exc.__context__, ClientError):
        return exc.__context__
    return None


def _code(exc: BaseException) -> str:
    err = _client_error(exc)
    return "" if err is None else str(err.response.get("Error", {}).get("Code", ""))


def explain(exc: Exception, uri: str, action: str | None = None) -> TrainerError:
    """Turn a boto error about `uri` into one clear line; bad inputs get exit code 2.

    `action` names an IAM action the call needs, for the line about a denied call.
    """
    exc = _client_error(exc) or exc
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return BadInput(f"no AWS credentials to read {uri}: configure IRSA (AWS_ROLE_ARN, "
                        "AWS_WEB_IDENTITY_TOKEN_FILE) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
    if isinstance(exc, ClientError):
        code = _code(exc)
        if code == "NoSuchBucket":
            return BadInput(f"bucket of {uri} does not exist")
        if code in _NOT_FOUND:
            return BadInput(f"{uri} does not exist")
        if code in _DENIED:
            if action:
                return BadInput(f"access denied to {uri} ({code}): the run's IAM role needs "
                                f"{action} on it; check the role or credentials")
            return BadInput(f"access denied to {uri} ({code}): check the run's IAM role "
                            "or credentials")
        return TrainerError(f"S3 error on {uri}: {code or exc}", EXIT_FAILED)
    if isinstance(exc, EndpointConnectionError):
        return TrainerError(f"cannot reach S3 for {uri}: {exc}", EXIT_FAILED)
    return TrainerError(f"S3 error on {uri}: {exc}", EXIT_FAILED)


def _guard_write(uri: S3Uri, verb: str = "upload") -> None:
    if not _may_write:
        raise RuntimeError(f"rank {os.environ.get('RANK', '?')} must not {verb} {uri}")
    log(f"{verb} {uri}")


def head_size(uri: S3Uri) -> int | None:
    """Size of the object at `uri`, or None if there is none."""
    try:
        resp = client().head_object(Bucket=uri.bucket, Key=uri.key)
    except ClientError as exc:
        if _code(exc) in _NOT_FOUND:
            return None
        raise explain(exc, str(uri)) from None
    except (BotoCoreError, ClientError) as exc:
        raise explain(exc, str(uri)) from None
    return int(resp["ContentLength"])


def list_objects(prefix: S3Uri) -> list[tuple[str, int]]:
    """(key, size) of every object under `prefix` (a key prefix, not necessarily ending in /)."""
    out: list[tuple[str, int]] = []
    try:
        pages = client().get_paginator("list_objects_v2").paginate(Bucket=prefix.bucket,
                                                                   Prefix=prefix.key)
        for page in pages:
            for obj in page.get("Contents", []):
                out.append((obj["Key"], int(obj["Size"])))
    except (BotoCoreError, ClientError) as exc:
        raise explain(exc, str(prefix)) from None
    return out


def list_dirs(prefix: S3Uri) -> list[str]:
    """Names of the immediate "sub-directories" of `prefix` (which ends in /)."""
    names: list[str] = []
    try:
        pages = client().get_paginator("list_objects_v2").paginate(
            Bucket=prefix.bucket, Prefix=prefix.key, Delimiter="/")
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                names.append(common["Prefix"][len(prefix.key):].rstrip("/"))
    except (BotoCoreError, ClientError) as exc:
        raise explain(exc, str(prefix)) from None
    return names


def download_file(uri: S3Uri, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        client().download_file(uri.bucket, uri.key, str(dest))
    except (BotoCoreError, ClientError) as exc:
        raise explain(exc, str(uri)) from None


def fetch(uri: S3Uri, dest_dir: Path) -> list[Path]:
    """Download the object at `uri`, or every object under it if it is a prefix.

    Returns the local files (keeping paths relative to the prefix). A URI naming neither an
    object nor a non-empty prefix is a bad input.
    """
    if uri.key and not uri.key.endswith("/"):
        if head_size(uri) is not None:
            dest = dest_dir / uri.key.rsplit("/", 1)[-1]
            download_file(uri, dest)
            return [dest]
        prefix = S3Uri(uri.bucket, uri.key + "/")
    else:
        prefix = uri
    objects = [(k, s) for k, s in list_objects(prefix) if not k.endswith("/")]
    if not objects:
        raise BadInput(f"{uri} does not exist (no object, and no objects under that prefix)")
    files: list[Path] = []
    for key, _ in objects:
        dest = dest_dir / key[len(prefix.key):]
        download_file(S3Uri(uri.bucket, key), dest)
        files.append(dest)
    return files


def require(uri: S3Uri, what: str) -> None:
    """Fail with a clear line unless `uri` names an object or a non-empty prefix."""
    if uri.key and not uri.key.endswith("/") and head_size(uri) is not None:
        return
    prefix = uri if not uri.key or uri.key.endswith("/") else S3Uri(uri.bucket, uri.key + "/")
    try:
        resp = client().list_objects_v2(Bucket=prefix.bucket, Prefix=prefix.key, MaxKeys=1)
    except (BotoCoreError, ClientError) as exc:
        raise explain(exc, str(uri)) from None
    if not resp.get("KeyCount", 0):
        raise BadInput(f"{what} {uri} does not exist (no object, and no objects under that "
                       "prefix)")


def get_bytes(uri: S3Uri) -> bytes | None:
    """The object's body, or None if it does not exist."""
    try:
        resp = client().get_object(Bucket=uri.bucket, Key=uri.key)
        return bytes(resp["Body"].read())
    except ClientError as exc:
        if _code(exc) in _NOT_FOUND:
            return None
        raise explain(exc, str(uri)) from None
    except BotoCoreError as exc:
        raise explain(exc, str(uri)) from None


def _write(uri: S3Uri, tags: Mapping[str, str] | None,
           call: Callable[[dict[str, str]], object]) -> None:
    """Run `call(extra_args)`, with `Tagging` in extra_args when there are tags to set.

    A tagged write the store cannot do, or one the role may not do while the untagged write is
    allowed, is done again untagged (see the module docstring); any other error is explained.
    """
    global _tagging
    try:
        if not tags or not _tagging:
            call({})
            return
        try:
            call({"Tagging": urlencode(dict(tags))})
            return
        except (ClientError, S3UploadFailedError) as exc:
            code = _code(exc)
            if code not in _TAGGING_UNSUPPORTED and code not in ("AccessDenied", "403"):
                raise
            tagged_error = code
        call({})  # untagged; if this fails too, the error was not about tags
        _tagging = False
        why = ("the role may not tag objects (s3:PutObjectTagging)"
               if tagged_error in ("AccessDenied", "403")
               else "the S3 store does not support object tags")
        log(f"warning: {why}: wrote {uri} without its tags "
            f"{urlencode(dict(tags))}, and later objects are written untagged too; the "
            "bucket's lifecycle rule will not expire them")
    except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
        raise explain(exc, str(uri)) from None


def upload_file(path: Path, uri: S3Uri, tags: Mapping[str, str] | None = None) -> None:
    _guard_write(uri)
    _write(uri, tags, lambda extra: client().upload_file(str(path), uri.bucket, uri.key,
                                                         ExtraArgs=extra or None))


def put_json(uri: S3Uri, obj: object, tags: Mapping[str, str] | None = None) -> None:
    _guard_write(uri)
    body = (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()
    _write(uri, tags, lambda extra: client().put_object(
        Bucket=uri.bucket, Key=uri.key, Body=body, ContentType="application/json", **extra))


def upload_dir(local: Path, prefix: S3Uri, tags: Mapping[str, str] | None = None) -> None:
    """Upload every file under `local` to `prefix` (relative paths kept), each with `tags`."""
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        upload_file(path, prefix.child(path.relative_to(local).as_posix()), tags)


def may_delete(uri: S3Uri) -> bool:
    """Whether `uri` is an object `delete` accepts (see the module docstring)."""
    return _DELETABLE.search(uri.key) is not None and ".." not in uri.key.split("/")


def delete(uri: S3Uri) -> None:
    """Delete one object under a run's checkpoint/ or checkpoints/<step>/. Rank 0 only.

    On a versioned bucket (terraform/s3.tf) this adds a delete marker; the object's previous
    version stays recoverable until the noncurrent-version lifecycle rule removes it.
    """
    if not may_delete(uri):
        raise RuntimeError(f"refusing to delete {uri}: the trainer deletes only under a run's "
                           "checkpoint/ or checkpoints/<step>/")
    _guard_write(uri, "delete")
    try:
        client().delete_object(Bucket=uri.bucket, Key=uri.key)
    except (BotoCoreError, ClientError) as exc:
        raise explain(exc, str(uri), "s3:DeleteObject") from None


def delete_prefix(prefix: S3Uri, first: S3Uri | None = None) -> int:
    """Delete every object under `prefix` (each through `delete`); how many there were.

    `first`, if it is among them, goes before the others (a marker that vouches for the rest).
    Folder markers (zero-byte keys ending in "/", as the S3 console's "Create folder" makes) are
    left alone: they hold nothing a loader could mistake for weights.
    """
    keys = [key for key, _ in list_objects(prefix) if not key.endswith("/")]
    if first is not None:
        keys.sort(key=lambda key: key != first.key)  # stable: the rest keep their order
    for key in keys:
        delete(S3Uri(prefix.bucket, key))
    return len(keys)


def check_bucket(uri: S3Uri) -> None:
    """Fail early, with a clear message, if the output bucket can't be reached."""
    try:
        client().head_bucket(Bucket=uri.bucket)
    except ClientError as exc:
        code = _code(exc)
        if code in _NOT_FOUND or code == "NoSuchBucket":
            raise BadInput(f"output bucket {uri.bucket!r} of {uri} does not exist") from None
        raise explain(exc, str(uri)) from None
    except BotoCoreError as exc:
        raise explain(exc, str(uri)) from None
