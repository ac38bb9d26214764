"""GPT image edits: multipart fields as the SDK sends them, input checks, masks, usage, pictures derived from inputs."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image, ImageChops, ImageStat

from devkit.azure import AzureEmulator
from devkit.pictures import draw

from .support import GPT_IMAGE_VERSION, decoded, edit, png

CAT = draw("a cat on a sofa", 1024, 1024, seed=1)


def difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def fields(**extra: str) -> dict[str, str]:
    return {"model": "gpt-image-1.5", "prompt": "make it night", "quality": "low", **extra}


def test_one_image_edit_answers_images_response_with_image_tokens(client: httpx.Client) -> None:
    response = edit(client, fields(), [CAT])

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["created", "background", "data", "output_format", "quality", "size", "usage"]
    assert body["size"] == "1024x1024"
    usage = body["usage"]
    # 1024x1024 fits 2048 and shrinks to 768x768: 4 tiles of 512, 65 + 4 x 129 tokens
    assert usage["input_tokens_details"] == {"image_tokens": 581, "text_tokens": 4}
    assert usage["input_tokens"] == 585
    assert usage["output_tokens"] == 272
    assert usage["total_tokens"] == 857


def test_the_result_visibly_derives_from_the_input(client: httpx.Client) -> None:
    source = Image.open(io.BytesIO(CAT))
    edited = decoded(edit(client, fields(), [CAT]).json()["data"][0])
    other_input = draw("a red bus in the rain", 1024, 1024, seed=9)
    from_other = decoded(edit(client, fields(), [other_input]).json()["data"][0])

    assert difference(edited, source) < difference(from_other, source)


def test_several_images_with_image_brackets_and_the_single_image_field(client: httpx.Client) -> None:
    three = edit(client, fields(), [CAT, png(1536, 1024), png(512, 512, (0, 0, 255, 255))])
    single = edit(client, fields(), [CAT], field_name="image")

    assert three.status_code == single.status_code == 200
    details = three.json()["usage"]["input_tokens_details"]
    # 1536x1024 -> 1152x768: 3x2 tiles (839); 512x512 is not scaled up: one tile (194)
    assert details["image_tokens"] == 581 + 839 + 194
    assert single.json()["usage"]["input_tokens_details"]["image_tokens"] == 581


@pytest.mark.parametrize(
    ("first", "expected"),
    [((1600, 900), "1536x1024"), ((900, 1600), "1024x1536"), ((1000, 1100), "1024x1024")],
)
def test_auto_size_follows_the_first_image(client: httpx.Client, first: tuple[int, int], expected: str) -> None:
    response = edit(client, fields(size="auto"), [png(*first), CAT])

    assert response.json()["size"] == expected
    assert decoded(response.json()["data"][0]).size == tuple(int(x) for x in expected.split("x"))


def test_a_mask_must_be_a_png_with_alpha_of_the_first_images_size(client: httpx.Client) -> None:
    good = png(1024, 1024, (0, 0, 0, 0))
    accepted = edit(client, fields(), [CAT], mask=good)
    wrong_size = edit(client, fields(), [CAT], mask=png(512, 512, (0, 0, 0, 0)))
    no_alpha = edit(client, fields(), [CAT], mask=png(1024, 1024, (0, 0, 0, 255), mode="RGB"))
    jpeg = io.BytesIO()
    Image.new("RGB", (1024, 1024)).save(jpeg, "JPEG")
    not_png = edit(client, fields(), [CAT], mask=jpeg.getvalue())

    assert accepted.status_code == 200
    for refused in (wrong_size, no_alpha, not_png):
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == "mask"


def test_input_formats_are_recognised_by_their_magic_bytes(client: httpx.Client) -> None:
    webp, jpeg = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (64, 64), "green").save(webp, "WEBP")
    Image.new("RGB", (64, 64), "green").save(jpeg, "JPEG")
    gif = io.BytesIO()
    Image.new("RGB", (64, 64), "green").save(gif, "GIF")

    assert edit(client, fields(), [webp.getvalue(), jpeg.getvalue()]).status_code == 200
    for refused in (gif.getvalue(), b"not an image at all", b"\x89PNG\r\n\x1a\nbroken"):
        response = edit(client, fields(), [refused])
        assert response.status_code == 400
        assert (response.json()["error"]["code"], response.json()["error"]["param"]) == (
            "invalid_image_format",
            "image",
        )


def test_one_to_sixteen_images(client: httpx.Client) -> None:
    tiny = png(16, 16)

    assert edit(client, fields(), [tiny] * 16).status_code == 200
    too_many = edit(client, fields(), [tiny] * 17)
    none = client.post("/openai/v1/images/edits", data=fields(), files=[("unused", ("x.txt", b"x", "text/plain"))])

    assert (too_many.status_code, too_many.json()["error"]["param"]) == (400, "image")
    assert none.status_code == 400


@pytest.mark.parametrize(
    ("model", "fidelity", "status"),
    [
        ("gpt-image-1.5", "high", 200),
        ("gpt-image-1.5", "low", 200),
        ("gpt-image-1-mini", "low", 400),
        ("gpt-image-2", "high", 400),
    ],
)
def test_input_fidelity_per_model(client: httpx.Client, model: str, fidelity: str, status: int) -> None:
    response = edit(client, fields(model=model, input_fidelity=fidelity), [CAT])

    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["param"] == "input_fidelity"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": "two"}, "n"),
        ({"n": "11"}, "n"),
        ({"stream": "maybe"}, "stream"),
        ({"output_format": "webp"}, "output_format"),
        ({"size": "1792x1024"}, "size"),
        ({"style": "vivid"}, "style"),
        ({"image": "cat.png"}, "image"),  # a file name sent as text
    ],
)
def test_form_fields_are_read_back_from_text_and_checked(
    client: httpx.Client, extra: dict[str, str], param: str
) -> None:
    response = edit(client, fields(**extra), [CAT])

    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_form_numbers_and_booleans_work_as_the_sdk_sends_them(client: httpx.Client) -> None:
    response = edit(client, fields(n="2", stream="false", output_format="jpeg", output_compression="60"), [CAT])

    body = response.json()
    assert response.status_code == 200
    assert len(body["data"]) == 2
    assert decoded(body["data"][0]).format == "JPEG"


def test_a_json_body_is_not_an_edit(client: httpx.Client) -> None:
    response = client.post("/openai/v1/images/edits", json={"model": "gpt-image-1.5", "prompt": "x"})

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("deployment", "api_version", "status", "code"),
    [
        ("gpt-image-2", GPT_IMAGE_VERSION, 200, None),
        ("gpt-image-2", "2024-10-21", 404, "404"),  # edits did not exist on that version: Resource not found
        ("dalle3", GPT_IMAGE_VERSION, 400, "OperationNotSupported"),
        ("nope", GPT_IMAGE_VERSION, 404, "DeploymentNotFound"),
    ],
)
def test_edits_on_the_deployments_path(
    client: httpx.Client, deployment: str, api_version: str, status: int, code: str | None
) -> None:
    path = f"/openai/deployments/{deployment}/images/edits"
    body: dict[str, Any] = {"prompt": "make it night", "quality": "low"}
    response = edit(client, body, [CAT], path=path, api_version=api_version)

    assert response.status_code == status
    if code is not None:
        assert response.json()["error"]["code"] == code


def test_dalle_cannot_edit_on_v1(client: httpx.Client, emulator: AzureEmulator) -> None:
    response = edit(client, fields(model="dalle3"), [CAT])

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "OperationNotSupported"
    assert emulator.calls("edit")[0].deployment == "dalle3"
