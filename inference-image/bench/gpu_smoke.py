"""GPU smoke check: the real server on a CUDA machine, both tasks, half precision.

Builds the same tiny models as the test suite, starts `python -m lathe_inference` for each with a
file:// URI (no S3 needed) and LATHE_DEVICE=auto, and checks that it chose the GPU in half precision,
generates text (plain and streamed) and a PNG. Prints what it saw; exits non-zero on any failure.

    cd inference-image && python bench/gpu_smoke.py
"""

from __future__ import annotations

import base64
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))

import tiny  # noqa: E402
from conftest import ServerProcess, sse_events  # noqa: E402


def main() -> int:
    import torch

    if not torch.cuda.is_available():
        print("gpu_smoke: no CUDA device visible", file=sys.stderr)
        return 2
    print("GPU:", torch.cuda.get_device_name(0), "torch", torch.__version__)
    work = Path(tempfile.mkdtemp(prefix="lathe-gpu-smoke-"))
    llama = tiny.save_tiny_llama(work / "llama", hidden=256, layers=4)
    sana = tiny.save_tiny_sana_sprint(work / "sana")
    failures = 0
    for task, path in (("text-generation", llama), ("text-to-image", sana)):
        (work / task).mkdir(exist_ok=True)
        server = ServerProcess(work / task, LATHE_MODEL_URI=f"file://{path}", LATHE_TASK=task, LATHE_DEVICE="auto",
                               OMP_NUM_THREADS=str(os.cpu_count() or 1))
        try:
            server.wait_listening()
            server.wait_status("ready")
            ready = server.client.get("/readyz").json()
            print(f"[{task}] ready: {ready}")
            assert ready["device"] == "cuda" and ready["dtype"] in ("bfloat16", "float16"), ready
            if task == "text-generation":
                for attempt in (1, 2):
                    t = time.monotonic()
                    r = server.client.post("/v1/completions",
                                           json={"prompt": "Once", "max_tokens": 256, "temperature": 0})
                    assert r.status_code == 200, r.text
                    assert r.json()["usage"]["completion_tokens"] == 256, r.json()["usage"]
                    dt = time.monotonic() - t
                    print(f"[{task}] request {attempt}: 256 tokens in {dt:.2f}s ({256 / dt:.0f} tok/s)")
                with server.client.stream("POST", "/v1/chat/completions", json={
                        "messages": [{"role": "user", "content": "hi"}], "max_tokens": 32, "stream": True}) as s:
                    events = sse_events(s.iter_lines())
                assert events[-1] == "[DONE]" and len(events) > 3, events[-3:]
                print(f"[{task}] streamed chat: {len(events) - 1} events")
            else:
                for attempt in (1, 2):
                    t = time.monotonic()
                    r = server.client.post("/v1/images/generations",
                                           json={"prompt": "a red cat", "size": "256x256", "seed": 1})
                    assert r.status_code == 200, r.text
                    png = base64.b64decode(r.json()["data"][0]["b64_json"])
                    assert png.startswith(b"\x89PNG"), png[:8]
                    print(f"[{task}] request {attempt}: 256x256 PNG ({len(png)} bytes) in {time.monotonic() - t:.2f}s")
            m = server.metrics()
            print(f"[{task}] model load {m['lathe_model_load_seconds']:.2f}s")
        except AssertionError as e:
            failures += 1
            print(f"[{task}] FAILED: {e}\n{server.logs()[-3000:]}")
        finally:
            server.stop()
    print("gpu_smoke:", "OK" if not failures else f"{failures} FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
