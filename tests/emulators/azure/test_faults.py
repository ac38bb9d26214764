"""Scripted faults and gates: bodies and headers of each fault, queue order, operation filters, pauses, concurrency."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from devkit.azure import (
    AzureEmulator,
    ContentPolicy,
    DeploymentGone,
    Fault,
    Malformed,
    OperationStatus,
    OutputFiltered,
    PromptFiltered,
    RateLimited,
    ServerError,
    StreamBreaks,
)

from .support import KEY, assert_undecodable, edit, generate, png, respond

BODY = {"model": "gpt-image-2", "prompt": "a fox", "quality": "low"}


def test_content_policy_is_the_reference_body(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(ContentPolicy(revised_prompt="A calm scene."), ContentPolicy(revised_prompt=None))

    first = generate(client, BODY)
    second = generate(client, BODY)

    assert first.status_code == second.status_code == 400
    error = first.json()["error"]
    assert error["code"] == "content_policy_violation"
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Your request was rejected as a result of our safety system.")
    assert error["inner_error"]["code"] == "ResponsibleAIPolicyViolation"
    assert error["inner_error"]["content_filter_results"]["violence"] == {"filtered": True, "severity": "low"}
    assert error["inner_error"]["revised_prompt"] == "A calm scene."
    assert "revised_prompt" not in second.json()["error"]["inner_error"]


@pytest.mark.parametrize(
    ("fault", "code", "message"),
    [
        (PromptFiltered(), "contentFilter", "Your task failed as a result of our safety system."),
        (OutputFiltered(), "contentFilter", "Generated image was filtered as a result of our safety system."),
        (
            OutputFiltered(code="moderation_blocked"),
            "moderation_blocked",
            "Generated image was filtered as a result of our safety system.",
        ),
    ],
)
def test_filters_answer_200_with_a_top_level_error(
    client: httpx.Client, emulator: AzureEmulator, fault: Fault, code: str, message: str
) -> None:
    emulator.fail_next(fault)

    response = generate(client, BODY)

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["created", "error"]
    assert body["error"] == {"code": code, "message": message}


@pytest.mark.parametrize(("status", "code"), [(500, "InternalServerError"), (503, "ServiceUnavailable")])
def test_server_errors(client: httpx.Client, emulator: AzureEmulator, status: int, code: str) -> None:
    emulator.fail_next(ServerError(status))

    response = generate(client, BODY)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("retry_s", "retry_ms", "whole_s"), [(1.5, "1500", "2"), (2.0, "2000", "2"), (0.1, "100", "1")]
)
def test_scripted_rate_limit(
    client: httpx.Client, emulator: AzureEmulator, retry_s: float, retry_ms: str, whole_s: str
) -> None:
    emulator.fail_next(RateLimited(retry_after_s=retry_s))

    response = generate(client, BODY)

    assert response.status_code == 429
    assert response.headers["retry-after-ms"] == retry_ms
    assert response.headers["retry-after"] == whole_s
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert response.headers["x-ratelimit-limit-requests"] == "6"  # no quota configured: Azure's default
    assert response.headers["x-ratelimit-reset-requests"] == whole_s
    assert response.json()["error"]["code"] == "429"
    assert "exceeded call rate limit" in response.json()["error"]["message"]


def test_malformed_kinds(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(Malformed(), Malformed("no_data"), Malformed("bad_base64"))

    not_json, no_data, bad = (generate(client, BODY) for _ in range(3))

    assert not_json.status_code == no_data.status_code == bad.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        not_json.json()
    assert "data" not in no_data.json()
    assert "usage" in no_data.json()
    assert_undecodable(bad.json()["data"][0]["b64_json"])


def test_stream_breaks_on_a_plain_call_cuts_the_connection(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(StreamBreaks())

    with pytest.raises(httpx.RemoteProtocolError):
        generate(client, BODY)
    assert generate(client, BODY).status_code == 200  # the client's next connection works
    assert emulator.calls()[0].status == 200


def test_deployment_gone_is_one_404(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(DeploymentGone())

    gone = generate(client, BODY)
    back = generate(client, BODY)

    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "DeploymentNotFound")
    assert back.status_code == 200


def test_operation_status_on_a_synchronous_call_is_a_500(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(OperationStatus("canceled"))

    assert generate(client, BODY).status_code == 500


def test_faults_are_fifo_and_survive_rejected_requests(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(ServerError(503), ContentPolicy())

    assert generate(client, BODY | {"n": 20}).status_code == 400  # refused before the fault stage
    assert generate(client, BODY | {"model": "nope"}).status_code == 404
    with httpx.Client(base_url=client.base_url, headers={"api-key": "wrong"}) as wrong:
        assert generate(wrong, BODY).status_code == 401
    statuses = [generate(client, BODY).status_code for _ in range(3)]

    assert statuses == [503, 400, 200]


def test_an_operation_filter_picks_which_call_takes_the_fault(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(ServerError(), operation="edit")
    emulator.fail_next(ServerError(503), operation="responses")
    emulator.fail_next(RateLimited())  # any image-making call

    first_generate = generate(client, BODY)
    first_edit = edit(client, {"model": "gpt-image-1.5", "prompt": "night", "quality": "low"}, [png(64, 64)])
    first_responses = respond(
        client, {"model": "gpt-5.4-mini", "input": "x", "tools": [{"type": "image_generation", "quality": "low"}]}
    )
    second_generate = generate(client, BODY)

    assert first_generate.status_code == 429
    assert first_edit.status_code == 500
    assert first_responses.status_code == 503
    assert second_generate.status_code == 200


def test_fail_next_checks_its_arguments(emulator: AzureEmulator) -> None:
    with pytest.raises(ValueError, match="not 'blob'"):
        emulator.fail_next(ServerError(), operation="blob")
    with pytest.raises(ValueError, match="poll takes only"):
        emulator.fail_next(ContentPolicy(), operation="poll")
    with pytest.raises(ValueError, match="unknown operation"):
        emulator.pause("other")
    with pytest.raises(ValueError, match="contentFilter or moderation_blocked"):
        OutputFiltered(code="nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="500 or 503"):
        ServerError(502)
    with pytest.raises(ValueError, match=">= 0"):
        RateLimited(retry_after_s=-1)
    with pytest.raises(ValueError, match="not_json"):
        Malformed("half")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cut or error_event"):
        StreamBreaks(kind="drop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="after_partials"):
        StreamBreaks(after_partials=-1)
    with pytest.raises(ValueError, match="failed, canceled or deleted"):
        OperationStatus("running")  # type: ignore[arg-type]


def test_reset_forgets_queued_faults(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(ServerError())
    emulator.reset()

    assert generate(client, BODY).status_code == 200


def test_concurrent_calls_each_consume_one_fault(emulator: AzureEmulator) -> None:
    emulator.fail_next(ServerError(), ServerError(), ServerError())
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=emulator.url, headers={"api-key": KEY}, timeout=10) as http:
            status = generate(http, BODY).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(statuses) == [200] * 5 + [500] * 3
    assert len(emulator.calls()) == 8


def test_a_paused_call_waits_for_its_gate(emulator: AzureEmulator) -> None:
    gate = emulator.pause()
    results: list[httpx.Response] = []

    def call() -> None:
        with httpx.Client(base_url=emulator.url, headers={"api-key": KEY}, timeout=10) as http:
            results.append(generate(http, BODY))

    worker = threading.Thread(target=call)
    worker.start()
    assert gate.reached.wait(10)
    assert results == []
    (held,) = emulator.calls()
    assert held.status == 200  # decided, not yet sent
    gate.release()
    worker.join(10)

    assert [r.status_code for r in results] == [200]


def test_a_paused_call_outlasts_a_short_client_timeout(emulator: AzureEmulator) -> None:
    gate = emulator.pause("generate")
    with (
        httpx.Client(base_url=emulator.url, headers={"api-key": KEY}, timeout=0.2) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        generate(impatient, BODY)
    assert gate.reached.is_set()
    gate.release()


def test_gates_match_their_operation_in_order(client: httpx.Client, emulator: AzureEmulator) -> None:
    blob_gate = emulator.pause("blob")
    blob_gate.release()  # released before its call: that call passes without stopping
    later = emulator.pause("generate")
    later.release()

    assert generate(client, BODY).status_code == 200
    assert later.reached.is_set()
    assert not blob_gate.reached.is_set()


def test_reset_and_stop_release_held_calls() -> None:
    with AzureEmulator() as emu:
        gate = emu.pause()
        results: list[int] = []

        def call() -> None:
            with httpx.Client(base_url=emu.url, headers={"api-key": KEY}, timeout=10) as http:
                results.append(generate(http, BODY).status_code)

        worker = threading.Thread(target=call)
        worker.start()
        assert gate.reached.wait(10)
        emu.reset()
        worker.join(10)
        assert results == [200]
        stuck = emu.pause()
    assert stuck.released  # stop() released it
