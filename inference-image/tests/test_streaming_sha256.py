"""The loader's in-order hashing of parts that finish out of order (no S3 needed)."""

from __future__ import annotations

import hashlib
import random
import threading
from pathlib import Path

from lathe_inference.fetch import _StreamingSha256


def test_parts_finishing_in_any_order_from_many_threads_hash_like_the_whole_file(tmp_path: Path) -> None:
    data = random.Random(3).randbytes(5 * 1000 + 17)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    part = 1000
    parts = [(s, min(s + part, len(data)) - 1) for s in range(0, len(data), part)]
    for seed in range(20):
        random.Random(seed).shuffle(parts)
        h = _StreamingSha256(path)
        threads = [threading.Thread(target=h.part_done, args=p) for p in parts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert h.hexdigest(len(data)) == hashlib.sha256(data).hexdigest()


def test_a_missing_part_reads_as_a_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 300)
    h = _StreamingSha256(path)
    h.part_done(0, 99)
    h.part_done(200, 299)  # 100-199 never arrives
    assert h.hexdigest(300).startswith("incomplete (100 of 300")


def test_an_empty_file_has_the_empty_digest(tmp_path: Path) -> None:
    (tmp_path / "e").write_bytes(b"")
    assert _StreamingSha256(tmp_path / "e").hexdigest(0) == hashlib.sha256(b"").hexdigest()
