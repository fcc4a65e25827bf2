"""Image generation as the image routes share it: the server's limits on a request, then the images."""

from __future__ import annotations

from .admission import check_n, run_admitted
from .config import Settings
from .model import BadRequest, ImageModel, ImageParams
from .state import ApiError, ServerState


def image_params(s: Settings, n: int, dims: tuple[int, int] | None, steps: int | None, guidance: float | None,
                 negative: str | None, seed: int | None) -> ImageParams:
    check_n(n, s.max_images)
    if dims is not None and dims[0] * dims[1] > s.max_image_pixels:
        raise ApiError(400, f"{dims[0]}x{dims[1]} is more than the {s.max_image_pixels} pixels this server "
                            "allows", "invalid_value", param="size")
    if steps is not None and steps > s.max_image_steps:
        raise ApiError(400, f"num_inference_steps is {steps}; this server allows at most {s.max_image_steps}",
                       "invalid_value", param="num_inference_steps")
    return ImageParams(n=n, width=dims[0] if dims else None, height=dims[1] if dims else None, steps=steps,
                       guidance_scale=guidance, negative_prompt=negative, seed=seed)


async def make_images(state: ServerState, m: ImageModel, prompt: str, params: ImageParams) -> list[bytes]:
    """PNGs, generated in a slot. What only the pipeline can reject (a parameter its __call__ lacks,
    sizes it can't take) comes back as BadRequest: a 400, not a 500."""
    try:
        pngs = await run_admitted(state, lambda cancel: m.generate(prompt, params, cancel))
    except BadRequest as e:
        raise ApiError(400, str(e), "invalid_value") from None
    state.metrics.images_generated.inc(len(pngs))
    return pngs
