"""Download benchmark: the server's parallel ranged loader versus one plain GET stream, same run, same data.

Generates a model-shaped file set (a few safetensors-sized shards plus small JSON files, ~300 MB by
default), uploads it to the S3 server named by the standard AWS environment (locally: the MinIO that
`make s3-up` starts; run with .cluster/s3.env exported) as a finished run with metadata.json, then
times, in alternating rounds:

  single-stream   one GetObject per file, files one after another (what a naive loader does)
  parallel        lathe_inference.fetch.download_parallel: ranged GETs from a thread pool
  loader          lathe_inference.fetch.fetch_model: parallel download + sha256 verification
                  against metadata.json, exactly what the server does at start-up

Figures are printed, not asserted: on a laptop-sized machine against a local S3 server both sides
compete for the same CPU, so the gap is far smaller than against real S3, where one stream is capped
at tens of MB/s and parallel streams add up. The uploaded objects and local copies are removed at the end.

    cd inference-image && python bench/download_bench.py [--size-mb 300] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lathe_inference.fetch import (  # noqa: E402
    download_parallel,
    download_single_stream,
    fetch_model,
    list_prefix,
    make_client,
    sha256_file,
)


def make_files(root: Path, total_mb: int, shards: int) -> int:
    """Random (incompressible) shards like a sharded safetensors checkpoint, plus the small files."""
    shard_bytes = total_mb * (1 << 20) // shards
    for i in range(shards):
        with open(root / f"model-{i + 1:05d}-of-{shards:05d}.safetensors", "wb") as f:
            left = shard_bytes
            while left:
                n = min(left, 8 << 20)
                f.write(os.urandom(n))
                left -= n
    (root / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 4096}))
    (root / "tokenizer.json").write_text(json.dumps({"version": "1.0", "model": {"vocab": {}}}))
    (root / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {}}))
    return sum(p.stat().st_size for p in root.iterdir())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=300, help="total size of the file set (default 300)")
    ap.add_argument("--shards", type=int, default=3, help="number of weight shards (default 3)")
    ap.add_argument("--concurrency", type=int, default=16, help="parallel loader workers (default 16)")
    ap.add_argument("--part-mb", type=int, default=16, help="ranged GET size in MiB (default 16)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds of each method (default 2)")
    ap.add_argument("--bucket", default=os.environ.get("LATHE_S3_BUCKET", "lathe-artifacts"))
    args = ap.parse_args()
    if not os.environ.get("AWS_ENDPOINT_URL_S3") and not os.environ.get("AWS_ROLE_ARN"):
        print("download_bench: no S3 endpoint: export .cluster/s3.env (make s3-up) first", file=sys.stderr)
        return 2

    client = make_client(args.concurrency)
    run_prefix = f"models/bench-{uuid.uuid4().hex[:8]}/20260101-000000-bench0/"
    prefix = run_prefix + "checkpoint/"
    work = Path(tempfile.mkdtemp(prefix="lathe-download-bench-"))
    try:
        src = work / "src"
        src.mkdir()
        t = time.monotonic()
        total = make_files(src, args.size_mb, args.shards)
        print(f"generated {total / 1e6:.1f} MB in {len(list(src.iterdir()))} files ({time.monotonic() - t:.1f}s)")
        t = time.monotonic()
        files_meta = []
        for p in sorted(src.iterdir()):
            client.upload_file(str(p), args.bucket, prefix + p.name)
            files_meta.append({"path": p.name, "size": p.stat().st_size, "sha256": sha256_file(p)})
        client.put_object(Bucket=args.bucket, Key=run_prefix + "metadata.json",
                          Body=json.dumps({"schemaVersion": 1, "files": files_meta}).encode())
        print(f"uploaded to s3://{args.bucket}/{prefix} ({time.monotonic() - t:.1f}s)")
        shutil.rmtree(src)
        listing = list_prefix(client, args.bucket, prefix)

        times: dict[str, list[float]] = {"single-stream": [], "parallel": [], "loader": []}
        for rnd in range(args.rounds):
            for name in times:
                dest = work / f"{name}-{rnd}"
                t = time.monotonic()
                if name == "single-stream":
                    download_single_stream(client, args.bucket, listing, dest)
                elif name == "parallel":
                    download_parallel(client, args.bucket, listing, dest, concurrency=args.concurrency,
                                      part_size=args.part_mb << 20)
                else:
                    res = fetch_model(f"s3://{args.bucket}/{prefix}", dest, client=client,
                                      concurrency=args.concurrency, part_size=args.part_mb << 20)
                    assert res.verified and not res.cached
                times[name].append(time.monotonic() - t)
                shutil.rmtree(dest)

        print(f"\nendpoint {os.environ.get('AWS_ENDPOINT_URL_S3', 'AWS')}, {total / 1e6:.1f} MB, "
              f"{args.concurrency} workers x {args.part_mb} MiB parts, {args.rounds} rounds, {os.cpu_count()} CPUs")
        print(f"{'method':<15} {'median s':>9} {'best s':>8} {'MB/s':>8}")
        base = statistics.median(times["single-stream"])
        for name, ts in times.items():
            med = statistics.median(ts)
            print(f"{name:<15} {med:>9.2f} {min(ts):>8.2f} {total / 1e6 / med:>8.1f}"
                  + ("" if name == "single-stream" else f"   x{base / med:.2f} vs single-stream"))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=args.bucket, Prefix=run_prefix):
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=args.bucket, Key=obj["Key"])


if __name__ == "__main__":
    sys.exit(main())
