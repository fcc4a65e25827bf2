"""The S3 loader, in-process, against the real local S3 server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import unique_slug
from lathe_inference.fetch import (
    COMPLETE_MARKER,
    ChecksumError,
    ModelSourceError,
    download_parallel,
    download_single_stream,
    fetch_model,
    list_prefix,
    make_client,
    metadata_key_for,
    parse_s3_uri,
)
import tiny


def _write_files(root: Path) -> dict[str, bytes]:
    """Sizes that straddle part boundaries (part size 1 MiB in these tests), a nested path, an empty file."""
    rng = __import__("random").Random(7)
    files = {
        "model.safetensors": rng.randbytes(3 * (1 << 20) + 12345),
        "config.json": b'{"a": 1}',
        "sub/dir/weights.bin": rng.randbytes(1 << 20),  # exactly one part
        "empty.txt": b"",
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def test_uri_helpers() -> None:
    assert parse_s3_uri("s3://b/models/x/r/checkpoint") == ("b", "models/x/r/checkpoint/")
    assert parse_s3_uri("s3://b/models/x/r/checkpoint/") == ("b", "models/x/r/checkpoint/")
    assert metadata_key_for("models/x/r/checkpoint/") == "models/x/r/metadata.json"
    assert metadata_key_for("models/x/r/other/") is None
    with pytest.raises(ModelSourceError):
        parse_s3_uri("s3:///nobucket")


def test_parallel_download_matches_source_and_single_stream(s3: Any, bucket: str, tmp_path: Path) -> None:
    files = _write_files(tmp_path / "src")
    prefix = f"models/{unique_slug('fetch')}/{tiny.new_run_id()}/checkpoint/"
    tiny.upload_dir(s3, bucket, tmp_path / "src", prefix)
    client = make_client(8)
    listing = list_prefix(client, bucket, prefix)
    assert sorted(f.rel for f in listing) == sorted(files)

    finished: list[str] = []
    download_parallel(client, bucket, listing, tmp_path / "par", concurrency=8, part_size=1 << 20,
                      on_file_done=lambda f, p: finished.append(f.rel))
    download_single_stream(client, bucket, listing, tmp_path / "one")
    assert sorted(finished) == sorted(files)  # every file reported done exactly once
    for rel, data in files.items():
        assert (tmp_path / "par" / rel).read_bytes() == data, rel
        assert (tmp_path / "one" / rel).read_bytes() == data, rel


def test_fetch_verifies_against_metadata_and_reuses_cache(s3: Any, bucket: str, tmp_path: Path) -> None:
    _write_files(tmp_path / "src")
    uri = tiny.publish_run(s3, bucket, tmp_path / "src", unique_slug("fetch"))
    first = fetch_model(uri, tmp_path / "cache", concurrency=4, part_size=1 << 20)
    assert first.verified and not first.cached
    assert first.bytes == sum(p.stat().st_size for p in (tmp_path / "src").rglob("*") if p.is_file())
    assert (first.local_dir / "model.safetensors").read_bytes() == (tmp_path / "src/model.safetensors").read_bytes()
    assert json.loads((first.local_dir / COMPLETE_MARKER).read_text())["uri"] == uri
    assert not [p for p in (tmp_path / "cache").iterdir() if ".partial-" in p.name]

    second = fetch_model(uri, tmp_path / "cache", concurrency=4, part_size=1 << 20)
    assert second.cached and second.bytes == 0 and second.local_dir == first.local_dir

    # A cached copy damaged on disk is fetched again rather than served.
    damaged = first.local_dir / "model.safetensors"
    damaged.write_bytes(b"\0" * damaged.stat().st_size)
    third = fetch_model(uri, tmp_path / "cache", concurrency=4, part_size=1 << 20)
    assert not third.cached
    assert (third.local_dir / "model.safetensors").read_bytes() == (tmp_path / "src/model.safetensors").read_bytes()


def test_fetch_without_metadata_is_unverified(s3: Any, bucket: str, tmp_path: Path) -> None:
    _write_files(tmp_path / "src")
    uri = tiny.publish_run(s3, bucket, tmp_path / "src", unique_slug("nometa"), metadata=False)
    res = fetch_model(uri, tmp_path / "cache", concurrency=2, part_size=1 << 20)
    assert not res.verified
    assert (res.local_dir / "sub/dir/weights.bin").stat().st_size == 1 << 20


def _bad_sha(meta: dict[str, Any]) -> None:
    entry = next(e for e in meta["files"] if e["path"] == "model.safetensors")
    entry["sha256"] = "0" * 64


def _bad_size(meta: dict[str, Any]) -> None:
    next(e for e in meta["files"] if e["path"] == "config.json")["size"] += 1


def _missing(meta: dict[str, Any]) -> None:
    meta["files"].append({"path": "extra.safetensors", "size": 1, "sha256": "a" * 64})


def _unlisted(meta: dict[str, Any]) -> None:
    meta["files"] = [e for e in meta["files"] if e["path"] != "empty.txt"]


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_bad_sha, "model.safetensors has sha256"),
        (_bad_size, "config.json is 8 bytes in S3, metadata.json says 9"),
        (_missing, "extra.safetensors is listed in metadata.json but missing in S3"),
        (_unlisted, "empty.txt is in S3 but not listed in metadata.json"),
    ],
)
def test_fetch_refuses_mismatch(s3: Any, bucket: str, tmp_path: Path, tamper: Any, message: str) -> None:
    _write_files(tmp_path / "src")
    uri = tiny.publish_run(s3, bucket, tmp_path / "src", unique_slug("tampered"), tamper=tamper)
    with pytest.raises(ChecksumError, match="checksum mismatch") as err:
        fetch_model(uri, tmp_path / "cache", concurrency=4, part_size=1 << 20)
    assert message in str(err.value)
    # Nothing half-downloaded is left where a later start could mistake it for a model.
    cache = tmp_path / "cache"
    assert not cache.exists() or not any(
        (d / COMPLETE_MARKER).exists() or ".partial-" in d.name for d in cache.iterdir()
    )


def test_object_replaced_after_metadata_is_caught(s3: Any, bucket: str, tmp_path: Path) -> None:
    """Same size, different bytes (a corrupt re-upload): only the sha256 can tell."""
    files = _write_files(tmp_path / "src")
    uri = tiny.publish_run(s3, bucket, tmp_path / "src", unique_slug("corrupt"))
    b, prefix = parse_s3_uri(uri)
    corrupt = bytearray(files["model.safetensors"])
    corrupt[len(corrupt) // 2] ^= 0xFF
    s3.put_object(Bucket=b, Key=prefix + "model.safetensors", Body=bytes(corrupt))
    with pytest.raises(ChecksumError, match=r"checksum mismatch: model\.safetensors has sha256 [0-9a-f]{64}"):
        fetch_model(uri, tmp_path / "cache", concurrency=4, part_size=1 << 20)


def test_missing_prefix_is_a_source_error(s3: Any, bucket: str, tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match="no objects under"):
        fetch_model(f"s3://{bucket}/models/{unique_slug('absent')}/x/checkpoint/", tmp_path / "cache")
