"""The bot's own cost around an image (overhead per image) and its memory with a long queue."""

from __future__ import annotations

import socket
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.client import run_load
from bench.stage import MIB, Server, Stage, cpu_ns, memory_kib, stage
from bench.stats import LatencyStats, percentile
from devkit.slack import UploadedFile


def _send_one(url: str, request: bytes, timeout_s: float) -> int:
    """One command on its own connection, synchronously (nothing to start inside the timed span)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout_s) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def _final_images(stage_: Stage, channel: str) -> dict[str, UploadedFile]:
    """The bot's shared final images in `channel` by file id (its previews, `…-preview-N`, left out)."""
    return {
        file_id: file
        for file_id, file in stage_.slack.files().items()
        if channel in file.shares and "preview" not in file.filename
    }


def _one_image(stage_: Stage, url: str, channel: str) -> tuple[float, int]:
    """(seconds from the command leaving to Slack sharing its final image, the image's size in bytes)."""
    before = set(_final_images(stage_, channel))
    request = stage_.commands(url, 1, channels=[channel])[0]
    sent_at = time.time()  # wall clock: the emulator's message ts are made from it
    if _send_one(url, request, 10.0) != 200:
        raise RuntimeError("the bot refused a command")

    deadline = time.monotonic() + 120
    while not (new := [f for file_id, f in _final_images(stage_, channel).items() if file_id not in before]):
        if time.monotonic() > deadline:
            raise RuntimeError("no image was shared within 120 s")
        # Polled, not waited on with the emulator's wait_for (which re-reads every file on every change):
        # the share's ts is the instant files.completeUploadExternal shared the file, so how often this
        # thread looks does not enter the figure, and looking seldom costs the bot's CPU nothing.
        time.sleep(0.1)
    return float(new[0].shares[channel]) - sent_at, new[0].length


@dataclass(frozen=True)
class OverheadResult:
    jobs: int
    azure_latency_s: float
    image_bytes: int
    median_s: float
    p90_s: float
    max_s: float
    end_to_end_median_s: float
    cpu_per_image_s: float  # CPU of the web and worker processes per image, while the jobs ran


def overhead(
    workdir: Path, jobs: int, *, azure_latency_s: float, image_bytes: int = MIB, naive: bool = False
) -> OverheadResult:
    """End-to-end minus Azure's latency, one job at a time: nothing queues, so no queue wait is in it.

    It includes the ack, the idle worker taking the job and posting its message (beside the Azure call),
    reading the streamed Azure answer (two partial images while Azure draws, then the final one, base64
    in server-sent events), sharing a
    preview and then the image, the message updates, and every database write; and the waits of the
    bot's per-channel pacing between its own posts (Slack's 1 message a second). Previews shared while
    Azure draws cost the figure nothing unless they hold the final image back.

    With `naive` the same jobs go to bench/naive_app.py instead (one process, no database, Azure's answer
    in one piece, slack_sdk's `files_upload_v2`): the design the bot is measured against, on the same
    machine in the same run."""
    with stage(workdir, "overhead", latency_s=azure_latency_s, image_bytes=image_bytes) as stage_:
        bot = stage_.start_naive("overhead-naive") if naive else stage_.start_bot("overhead")
        # Each job in a channel of its own: the bot's per-channel pacing (1 post a second after a burst
        # of 3) would otherwise carry one job's posts over into the next one's figure.
        channels = stage_.channels(jobs + 1)
        _one_image(stage_, bot.url, channels[0])  # warm-up: imports, connection pools, the emulator's drawing
        began = _bot_cpu_ns(bot)
        samples = [_one_image(stage_, bot.url, channel) for channel in channels[1:]]
        cpu_per_image = (_bot_cpu_ns(bot) - began) / 1e9 / jobs
    if any(size < image_bytes for _, size in samples):
        raise RuntimeError(f"uploads smaller than {image_bytes} bytes: {sorted({s for _, s in samples})}")
    end_to_end = sorted(e for e, _ in samples)
    extra = [e - azure_latency_s for e in end_to_end]
    return OverheadResult(
        jobs=jobs,
        azure_latency_s=azure_latency_s,
        image_bytes=image_bytes,
        median_s=statistics.median(extra),
        p90_s=percentile(extra, 0.90),
        max_s=extra[-1],
        end_to_end_median_s=statistics.median(end_to_end),
        cpu_per_image_s=cpu_per_image,
    )


def _bot_cpu_ns(bot: Server) -> int:
    """CPU the web process and the worker process have used so far."""
    worker = bot.worker_pid()
    return cpu_ns(bot.pid) + (cpu_ns(worker) if worker else 0)


# Slow enough that no worker finishes during the fill: every job stays queued or running.
MEMORY_AZURE_LATENCY_S = 300.0


@dataclass(frozen=True)
class MemoryResult:
    queued: int
    web_peak_mb: float  # VmHWM of the web process, in 10^6 bytes like the target
    worker_peak_mb: float  # VmHWM of the worker process `serve` starts
    web_start_mb: float
    worker_start_mb: float
    web_pss_mb: float  # at the peak reading: pages shared by the two processes counted once between them
    worker_pss_mb: float
    fill_s: float
    fill_acks: dict[str, Any]
    jobs_by_status: dict[str, int]

    @property
    def total_peak_mb(self) -> float:
        return self.web_peak_mb + self.worker_peak_mb

    @property
    def total_pss_mb(self) -> float:
        return self.web_pss_mb + self.worker_pss_mb

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_peak_mb": self.total_peak_mb, "total_pss_mb": self.total_pss_mb}


def memory(workdir: Path, queued: int, timeout_s: float) -> MemoryResult:
    """Peak resident memory while `queued` signed commands pile up behind a stalled Azure."""
    with stage(workdir, "memory", latency_s=MEMORY_AZURE_LATENCY_S) as stage_:
        bot = stage_.start_bot("memory")
        worker = bot.worker_pid()
        if worker is None:
            raise RuntimeError("serve started no worker process")
        web_start, worker_start = memory_kib(bot.pid)["VmHWM"], memory_kib(worker)["VmHWM"]
        requests = stage_.commands(bot.url, queued)
        began = time.perf_counter()
        run, _ = run_load(workdir, bot.url, requests, mode="closed", concurrency=16, timeout_s=timeout_s)
        fill_s = time.perf_counter() - began
        acks = LatencyStats.of(run.outcomes, timeout_s)
        time.sleep(2.0)  # a few queue polls and placeholder posts with the whole backlog in the table
        web, worker_memory = memory_kib(bot.pid), memory_kib(worker)
        by_status = stage_.jobs_by_status()
    if acks.failed:
        raise RuntimeError(f"{acks.failed} of the {queued} commands were not accepted")
    if sum(by_status.values()) != queued:
        raise RuntimeError(f"{queued} commands made {sum(by_status.values())} jobs: {by_status}")
    return MemoryResult(
        queued=queued,
        web_peak_mb=web["VmHWM"] * 1024 / 1e6,
        worker_peak_mb=worker_memory["VmHWM"] * 1024 / 1e6,
        web_start_mb=web_start * 1024 / 1e6,
        worker_start_mb=worker_start * 1024 / 1e6,
        web_pss_mb=web["Pss"] * 1024 / 1e6,
        worker_pss_mb=worker_memory["Pss"] * 1024 / 1e6,
        fill_s=fill_s,
        fill_acks=acks.as_dict(),
        jobs_by_status=by_status,
    )
