"""A real server process serving a tiny SanaSprintPipeline (the production text-to-image class) from S3."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from conftest import ServerProcess, unique_slug
import tiny

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def image_server(s3: Any, bucket: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    local = tiny.save_tiny_sana_sprint(tmp_path_factory.mktemp("tiny-sana") / "checkpoint")
    # Nested component folders (transformer/, vae/, ...) all listed and verified in metadata.json.
    uri = tiny.publish_run(s3, bucket, local, unique_slug("tiny-sana"), task="custom")
    server = ServerProcess(tmp_path_factory.mktemp("image-server"), LATHE_MODEL_URI=uri, LATHE_TASK="text-to-image",
                           LATHE_MODEL_NAME="sketcher", LATHE_MAX_IMAGES="2", LATHE_MAX_IMAGE_PIXELS="65536",
                           LATHE_MAX_IMAGE_STEPS="4")
    try:
        server.wait_listening()
        server.wait_status("ready")
        yield server
    finally:
        server.stop()


def _png(data: bytes) -> Image.Image:
    assert data.startswith(PNG_MAGIC)
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_images_endpoint_returns_png(image_server: ServerProcess) -> None:
    r = image_server.client.post("/v1/images/generations", json={
        "model": "sketcher", "prompt": "a red cat", "size": "64x64", "n": 1, "response_format": "b64_json",
        "num_inference_steps": 2, "seed": 3,
    })
    assert r.status_code == 200, r.text
    body = r.json()
    (item,) = body["data"]
    img = _png(base64.b64decode(item["b64_json"]))
    assert img.format == "PNG" and img.size == (64, 64) and img.mode == "RGB"
    assert len(set(img.getdata())) > 1  # a generated picture, not a blank canvas
    # Loaded through DiffusionPipeline.from_pretrained, which picked the class from model_index.json.
    assert image_server.client.get("/v1/models").json()["data"][0]["architecture"] == "SanaSprintPipeline"
    m = image_server.metrics()
    assert m["lathe_images_generated_total"] == 1
    assert m['lathe_requests_total{code="200",method="POST",route="/v1/images/generations"}'] == 1


def test_generate_image_simple_api_raw_png(image_server: ServerProcess) -> None:
    r = image_server.client.post("/generate/image", headers={"accept": "image/png"},
                                 json={"prompt": "a blue dog", "width": 32, "height": 32, "seed": 1})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert _png(r.content).size == (32, 32)


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    ("/v1/completions", {"prompt": "x"}, 400, "wrong_task"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]}, 400, "wrong_task"),
    ("/v1/images/generations", {"prompt": "x", "size": "100x100"}, 400, "invalid_value"),
    ("/v1/images/generations", {"prompt": "x", "size": "big"}, 400, "invalid_value"),
    ("/v1/images/generations", {"prompt": "x", "size": "512x512"}, 400, "invalid_value"),
    ("/v1/images/generations", {"prompt": "x", "n": 3}, 400, "invalid_value"),
    ("/v1/images/generations", {"prompt": "x", "response_format": "url"}, 400, "invalid_value"),
    ("/v1/images/generations", {"prompt": "x", "num_inference_steps": 50}, 400, "invalid_value"),
    ("/v1/images/generations", {"prompt": ""}, 400, "invalid_value"),
    ("/v1/images/generations", {"prompt": "x", "size": "32x32", "negative_prompt": "blurry"}, 400, "invalid_value"),
    ("/v1/images/generations", {"prompt": "x", "model": "dall-e-3"}, 404, "model_not_found"),
    ("/generate/image", {"prompt": "x", "width": 30}, 400, "invalid_value"),
])
def test_bad_image_requests(image_server: ServerProcess, path: str, body: dict[str, Any], status: int,
                            code: str) -> None:
    r = image_server.client.post(path, json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert image_server.client.get("/readyz").status_code == 200


def test_unsupported_parameter_is_named(image_server: ServerProcess) -> None:
    r = image_server.client.post("/v1/images/generations", json={"prompt": "x", "negative_prompt": "blurry"})
    assert r.json()["error"]["message"] == "negative_prompt is not supported by SanaSprintPipeline"
