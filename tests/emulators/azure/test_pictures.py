"""devkit/pictures.py: deterministic, labelled, visibly different per seed, rough previews, edits, padding."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image, ImageChops, ImageStat

from devkit.pictures import draw, pad_png, side_by_side

from .support import image_of

PROMPT = "a red fox in the snow at dusk, watercolour"


def difference(a: bytes, b: bytes) -> float:
    """Mean absolute difference per channel (0-255) between two pictures of the same size."""
    first, second = image_of(a).convert("RGB"), image_of(b).convert("RGB")
    return sum(ImageStat.Stat(ImageChops.difference(first, second)).mean) / 3


def test_same_arguments_same_bytes_and_the_requested_size_and_format() -> None:
    first = draw(PROMPT, 640, 480, seed=7)

    assert draw(PROMPT, 640, 480, seed=7) == first
    assert image_of(first).format == "PNG"
    assert image_of(first).size == (640, 480)
    assert image_of(first).mode == "RGB"
    jpeg = draw(PROMPT, 320, 200, fmt="jpeg", seed=7)
    assert image_of(jpeg).format == "JPEG"
    assert image_of(jpeg).size == (320, 200)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_seeds_give_visibly_different_pictures(seed: int) -> None:
    # A person comparing two of the four images of `--n 4` must see different colours, shapes and layout.
    assert difference(draw(PROMPT, 256, 256, seed=0), draw(PROMPT, 256, 256, seed=seed)) > 20


def test_the_prompt_changes_the_picture_too() -> None:
    assert difference(draw("a fox", 256, 256), draw("an owl", 256, 256)) > 20


def test_the_banner_is_drawn_in_amber() -> None:
    picture = image_of(draw(PROMPT, 1024, 1024, seed=3)).convert("RGB")
    colours: list[tuple[int, tuple[int, int, int]]] = picture.getcolors(1 << 20) or []  # type: ignore[assignment]
    amber = sum(count for count, (r, g, b) in colours if r > 230 and 170 < g < 220 and b < 40)

    assert amber > 500  # the "OFFLINE PREVIEW" letters and the bar standing in for the dash


def test_transparent_pictures_have_an_alpha_channel_with_clear_pixels() -> None:
    picture = image_of(draw("a sticker of a star", 512, 512, transparent=True))

    assert picture.mode == "RGBA"
    assert picture.getchannel("A").getextrema()[0] == 0


def test_rougher_previews_are_further_from_the_final_picture() -> None:
    final = draw(PROMPT, 384, 256, seed=5)
    distances = [difference(draw(PROMPT, 384, 256, seed=5, roughness=r), final) for r in (0.75, 0.5, 0.25)]

    assert distances == sorted(distances, reverse=True)
    assert distances[-1] > 0


def test_an_edit_shows_its_source() -> None:
    source = draw("a cat", 512, 512, seed=1)
    edited = draw("make it night", 512, 512, seed=2, source=source)
    unrelated = draw("make it night", 512, 512, seed=2)

    assert difference(edited, source) < difference(unrelated, source)
    assert edited != draw("make it night", 512, 512, seed=2, source=source, note="edit")


def test_side_by_side_puts_every_input_in_one_strip() -> None:
    strip = image_of(side_by_side([draw("a", 200, 100), draw("b", 100, 100)], height=50))

    assert strip.size == (150, 50)
    with pytest.raises(ValueError, match="at least one"):
        side_by_side([])


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 1x1"):
        draw(PROMPT, 0, 10)
    with pytest.raises(ValueError, match="fmt"):
        draw(PROMPT, 10, 10, fmt="webp")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="roughness"):
        draw(PROMPT, 10, 10, roughness=1.5)


def test_a_4k_picture_stays_cheap() -> None:
    started = time.perf_counter()
    picture = draw(PROMPT, 3840, 2160, seed=11)
    elapsed = time.perf_counter() - started

    assert image_of(picture).size == (3840, 2160)
    assert elapsed < 3.0  # about 0.5 s on the CI machine; drawn small, scaled up, PNG level 1


def test_long_prompts_are_cut_when_drawn() -> None:
    assert image_of(draw("x " * 16_000, 256, 256)).size == (256, 256)


def test_pad_png_grows_a_png_that_still_decodes_the_same() -> None:
    original = draw(PROMPT, 64, 64)
    padded = pad_png(original, 200_000)

    assert len(padded) == 200_000
    assert image_of(padded).tobytes() == image_of(original).tobytes()
    assert pad_png(original, None) == original
    assert pad_png(original, 10) == original  # already bigger
    jpeg = draw(PROMPT, 64, 64, fmt="jpeg")
    assert pad_png(jpeg, 200_000) == jpeg  # only PNGs are padded
    Image.open(io.BytesIO(padded)).verify()
