"""Download benchmark: the server's model loader against one stream and KServe's way, under S3's limits.

A model-shaped file set (3 random safetensors-sized shards, ~480 MB, plus small JSON files and a
metadata.json with their sha256) is uploaded once to the S3 server named by the standard AWS
environment (locally the MinIO of `make s3-up`; export .cluster/s3.env) under ``bench/`` and kept
there, so later runs reuse it. Then, in alternating rounds (each figure at least twice):

loopback (MinIO directly; one stream runs at memory speed here, so this says nothing about S3):
  single-stream   one GetObject per file, files one after another (what a naive loader does)
  lathe           lathe_inference.fetch.download_parallel: ranged GETs from one thread pool
  lathe+sha256    lathe_inference.fetch.fetch_model: the same plus sha256 verification, as at start-up

through toxiproxy (``--toxiproxy BIN``), which gives every connection S3's own limits: a bandwidth
toxic (default 90 MB/s) and a latency toxic (default 15 +/- 5 ms) on the response side:
  ceiling         plain ranged GETs from N threads, bytes discarded: what the proxy lets through in
                  aggregate on this machine (N swept; the best is the ceiling)
  sweep           lathe's loader over part sizes x concurrency, to choose the defaults
  single-stream, kserve (bench/kserve_way.py: whole files, 4 processes, boto3 download_file),
  lathe, lathe+sha256 at the defaults

Figures are printed, not asserted. The proxy, MinIO and the loader share this machine's cores, so the
proxy's own CPU time is printed beside each figure.

    cd inference-image && python bench/download_bench.py --toxiproxy "$(../hack/tools.sh path toxiproxy)"
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kserve_way import download_kserve_way  # noqa: E402
from toxiproxy import Toxiproxy  # noqa: E402

from lathe_inference.fetch import (  # noqa: E402
    DEFAULT_CONCURRENCY,
    DEFAULT_PART_MB,
    RemoteFile,
    download_parallel,
    download_single_stream,
    fetch_model,
    list_prefix,
    make_client,
    sha256_file,
)

PROXY_PORT = 19474
API_PORT = 18474


def make_files(root: Path, total_mb: int, shards: int) -> None:
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


def ensure_model(client: Any, bucket: str, run_prefix: str, total_mb: int, shards: int, work: Path) -> None:
    """Upload the file set once; a later run finds metadata.json (written last) and the same sizes."""
    prefix = run_prefix + "checkpoint/"
    try:
        meta = json.loads(client.get_object(Bucket=bucket, Key=run_prefix + "metadata.json")["Body"].read())
        have = {f.rel: f.size for f in list_prefix(client, bucket, prefix)}
        if have and have == {e["path"]: e["size"] for e in meta["files"]}:
            print(f"model cached at s3://{bucket}/{prefix} (uploaded by an earlier run)")
            return
    except client.exceptions.NoSuchKey:
        pass
    src = work / "src"
    src.mkdir()
    t = time.monotonic()
    make_files(src, total_mb, shards)
    files_meta = []
    for p in sorted(src.iterdir()):
        client.upload_file(str(p), bucket, prefix + p.name)
        files_meta.append({"path": p.name, "size": p.stat().st_size, "sha256": sha256_file(p)})
    client.put_object(Bucket=bucket, Key=run_prefix + "metadata.json",
                      Body=json.dumps({"schemaVersion": 1, "files": files_meta}).encode())
    print(f"generated and uploaded s3://{bucket}/{prefix} ({time.monotonic() - t:.1f}s)")
    shutil.rmtree(src)


def plain_gets(client: Any, bucket: str, files: list[RemoteFile], conns: int, part: int) -> None:
    """Ranged GETs of every byte from ``conns`` threads, discarded: the transport's ceiling."""
    parts = [(f, s, min(s + part, f.size) - 1) for f in files for s in range(0, f.size, part)]

    def get(p: tuple[RemoteFile, int, int]) -> None:
        body = client.get_object(Bucket=bucket, Key=p[0].key, Range=f"bytes={p[1]}-{p[2]}")["Body"]
        while body.read(1 << 20):
            pass

    with ThreadPoolExecutor(max_workers=conns) as pool:
        list(pool.map(get, parts))


def _own_cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class Runner:
    def __init__(self, work: Path, total: int, proxy: Toxiproxy | None) -> None:
        self.work, self.total, self.proxy, self.n = work, total, proxy, 0

    def time(self, fn: Callable[[Path], None]) -> tuple[float, float, float]:
        """(seconds, proxy CPU s, client CPU s) of one download into a fresh directory, removed after.

        The client's CPU is this process's and its waited-for children's (KServe's pool processes)."""
        self.n += 1
        dest = self.work / f"d{self.n}"
        dest.mkdir()
        cpu0 = self.proxy.cpu_seconds() if self.proxy else 0.0
        own0 = _own_cpu()
        t = time.monotonic()
        fn(dest)
        dt = time.monotonic() - t
        own = _own_cpu() - own0
        cpu = (self.proxy.cpu_seconds() - cpu0) if self.proxy else 0.0
        shutil.rmtree(dest)
        return dt, cpu, own

    def mbs(self, seconds: float) -> float:
        return self.total / 1e6 / seconds


Runs = list[tuple[float, float, float]]


def median_s(runs: Runs) -> float:
    return statistics.median(t for t, _, _ in runs)


def row(name: str, runs: Runs, r: Runner, base: float | None, ceiling: float | None) -> str:
    med = median_s(runs)
    speeds = sorted(r.mbs(t) for t, _, _ in runs)
    own = statistics.median(o / t for t, _, o in runs)  # the client's cores busy on average
    out = (f"{name:<22} {med:>8.2f} {r.mbs(med):>8.1f} {speeds[0]:>7.1f}-{speeds[-1]:<7.1f}"
           f" {('x%.2f' % (base / med)) if base else '':>7} {('%.0f%%' % (100 * r.mbs(med) / ceiling)) if ceiling else '':>6}"
           f" {own:>10.2f}")
    return out + (f" {statistics.median(c / t for t, c, _ in runs):>9.2f}" if r.proxy else "")


def header(proxy: bool) -> str:
    return (f"{'method':<22} {'median s':>8} {'MB/s':>8} {'range MB/s':>15} {'vs 1':>7} {'ceil':>6} {'client CPU':>10}"
            + (f" {'proxy CPU':>9}" if proxy else ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=480, help="total size of the shards (default 480)")
    ap.add_argument("--shards", type=int, default=3, help="number of weight shards (default 3)")
    ap.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="loader workers (default: the loader's)")
    ap.add_argument("--part-mb", type=int, default=DEFAULT_PART_MB, help="ranged GET size in MiB (default: the loader's)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds of each figure (default 2)")
    ap.add_argument("--bucket", default=os.environ.get("LATHE_S3_BUCKET", "lathe-artifacts"))
    ap.add_argument("--toxiproxy", help="toxiproxy-server binary (hack/tools.sh path toxiproxy); without it, loopback only")
    ap.add_argument("--rate-mb", type=float, default=90.0, help="per-connection bandwidth, MB/s (default 90)")
    ap.add_argument("--latency-ms", type=int, default=15, help="per-connection latency, ms (default 15)")
    ap.add_argument("--jitter-ms", type=int, default=5, help="latency jitter, +/- ms (default 5)")
    ap.add_argument("--ceiling-conns", default="16,32,64,96", help="parallel plain GETs for the ceiling")
    ap.add_argument("--sweep-parts", default="8,16,32,64", help="part sizes (MiB) of the loader sweep; empty: none")
    ap.add_argument("--sweep-conc", default="8,16,32,64", help="concurrencies of the loader sweep")
    ap.add_argument("--no-loopback", action="store_true", help="skip the loopback table")
    args = ap.parse_args()
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3")
    if not endpoint:
        print("download_bench: no S3 endpoint: export .cluster/s3.env (make s3-up) first", file=sys.stderr)
        return 2

    direct = make_client(64)
    run_prefix = f"bench/download-{args.size_mb}mb-{args.shards}/20260101-000000-bench0/"
    prefix = run_prefix + "checkpoint/"
    uri = f"s3://{args.bucket}/{prefix}"
    work = Path(tempfile.mkdtemp(prefix="lathe-download-bench-"))
    proxy: Toxiproxy | None = None
    try:
        ensure_model(direct, args.bucket, run_prefix, args.size_mb, args.shards, work)
        listing = list_prefix(direct, args.bucket, prefix)
        total = sum(f.size for f in listing)
        conc, part = args.concurrency, args.part_mb << 20
        print(f"{total / 1e6:.1f} MB in {len(listing)} files; {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.2f} at the start (the machine is shared: figures move with it)")

        def lathe(client: Any, c: int, p: int) -> Callable[[Path], None]:
            return lambda d: download_parallel(client, args.bucket, listing, d, concurrency=c, part_size=p)

        def lathe_sha(client: Any, c: int, p: int) -> Callable[[Path], None]:
            def fn(d: Path) -> None:
                res = fetch_model(uri, d, client=client, concurrency=c, part_size=p)
                assert res.verified and not res.cached
            return fn

        if not args.no_loopback:
            r = Runner(work, total, None)
            methods: dict[str, Callable[[Path], None]] = {
                "single-stream": lambda d: download_single_stream(direct, args.bucket, listing, d),
                "lathe": lathe(make_client(conc), conc, part),
                "lathe+sha256": lathe_sha(make_client(conc), conc, part),
            }
            runs: dict[str, Runs] = {m: [] for m in methods}
            for _ in range(args.rounds):
                for m, fn in methods.items():
                    runs[m].append(r.time(fn))
            print(f"\nLOOPBACK (MinIO directly, {endpoint}); {conc} workers x {args.part_mb} MiB parts, "
                  f"{args.rounds} rounds")
            print(header(False))
            base = median_s(runs["single-stream"])
            for m, rs in runs.items():
                print(row(m, rs, r, None if m == "single-stream" else base, None))

        if not args.toxiproxy:
            print("\n(no --toxiproxy: the S3-like figures are skipped)")
            return 0

        proxy = Toxiproxy(args.toxiproxy, API_PORT)
        proxy.start(str(work / "toxiproxy.log"))
        upstream = endpoint.split("://", 1)[1].rstrip("/")
        url = proxy.proxy("lathe_bench_s3", PROXY_PORT, upstream, args.rate_mb, args.latency_ms, args.jitter_ms)
        os.environ["AWS_ENDPOINT_URL_S3"] = url  # make_client() reads the standard variable
        r = Runner(work, total, proxy)
        print(f"\nTHROUGH TOXIPROXY v2.12.0 ({url} -> {upstream}): per connection {args.rate_mb:.0f} MB/s, "
              f"{args.latency_ms} +/- {args.jitter_ms} ms; {args.rounds} rounds each; 'client CPU' / 'proxy CPU' = "
              "cores the benchmark's process (and KServe's pool) / the proxy kept busy on average")

        # The ceiling: many plain GETs, nothing written or hashed.
        ceil_runs: dict[int, Runs] = {}
        for _ in range(args.rounds):
            for n in [int(x) for x in args.ceiling_conns.split(",") if x]:
                cl = make_client(n)
                ceil_runs.setdefault(n, []).append(r.time(lambda _d, cl=cl, n=n: plain_gets(cl, args.bucket, listing, n, 8 << 20)))
        print(f"\nceiling: plain 8 MiB ranged GETs, bytes discarded (x {args.rate_mb:.0f} MB/s would be the "
              "toxic's own limit)")
        print(header(True))
        for n, rs in ceil_runs.items():
            print(row(f"{n} connections", rs, r, None, None))
        ceiling = max(r.mbs(median_s(rs)) for rs in ceil_runs.values())
        print(f"ceiling = {ceiling:.1f} MB/s (best median)")

        sweep_parts = [int(x) for x in args.sweep_parts.split(",") if x]
        sweep_conc = [int(x) for x in args.sweep_conc.split(",") if x]
        if sweep_parts:
            sweep: dict[tuple[int, int], Runs] = {}
            for _ in range(args.rounds):
                for p in sweep_parts:
                    for c in sweep_conc:
                        sweep.setdefault((p, c), []).append(r.time(lathe(make_client(c), c, p << 20)))
            print("\nsweep: lathe's loader (no sha256), median MB/s (% of the ceiling)")
            print(f"{'part MiB':>8} " + " ".join(f"{f'{c} workers':>16}" for c in sweep_conc))
            for p in sweep_parts:
                cells = []
                for c in sweep_conc:
                    v = r.mbs(median_s(sweep[(p, c)]))
                    cells.append(f"{v:>8.1f} ({100 * v / ceiling:>3.0f}%)".rjust(16))
                print(f"{p:>8} " + " ".join(cells))
            (bp, bc), _ = min(sweep.items(), key=lambda kv: median_s(kv[1]))
            print(f"best in this run: {bp} MiB x {bc} workers (defaults: {args.part_mb} MiB x {conc})")

        methods = {
            "single-stream": lambda d: download_single_stream(make_client(1), args.bucket, listing, d),
            "kserve (4 files)": lambda d: download_kserve_way(url, args.bucket, prefix, d) and None,
            "lathe": lathe(make_client(conc), conc, part),
            "lathe+sha256": lathe_sha(make_client(conc), conc, part),
        }
        runs = {m: [] for m in methods}
        for _ in range(args.rounds):
            for m, fn in methods.items():
                runs[m].append(r.time(fn))
        print(f"\nS3-like, at the loader's defaults ({conc} workers x {args.part_mb} MiB parts)")
        print(header(True))
        base = median_s(runs["single-stream"])
        for m, rs in runs.items():
            print(row(m, rs, r, None if m == "single-stream" else base, ceiling))
        return 0
    finally:
        if proxy is not None:
            proxy.stop()
        os.environ["AWS_ENDPOINT_URL_S3"] = endpoint or ""
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
