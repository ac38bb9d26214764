"""Azure at a human pace: every image call of the Azure emulator is held for a moment before it ends.

The emulator draws in milliseconds, where a real model takes tens of seconds; at that speed a person
would never see the placeholder or a rough preview. The pacer keeps a few of the emulator's own gates
armed (`AzureEmulator.pause`): a streamed call stops after its partial images, any other before its
answer, and is let go `hold_s` later. Nothing in the emulator changes; tests use `hold_s=0` (no gates)
and script their own.
"""

from __future__ import annotations

import threading

from devkit.azure import AzureEmulator, Gate

__all__ = ["AzurePacer"]


class AzurePacer:
    """Holds up to `lanes` concurrent image calls for `hold_s` seconds each, until `stop()`."""

    def __init__(self, azure: AzureEmulator, hold_s: float, *, lanes: int = 4) -> None:
        self._azure = azure
        self._hold_s = hold_s
        self._lanes = lanes
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> AzurePacer:
        if self._hold_s <= 0:
            return self
        for lane in range(self._lanes):
            thread = threading.Thread(target=self._lane, name=f"azure-pacer-{lane}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _lane(self) -> None:
        while not self._stopping.is_set():
            gate: Gate = self._azure.pause()  # the next image call that finds no earlier gate takes this one
            while not gate.reached.wait(0.25):
                if self._stopping.is_set():
                    gate.release()
                    return
            self._stopping.wait(self._hold_s)
            gate.release()

    def stop(self) -> None:
        """Lets every held call go on; gates still armed pass their call through (released early)."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(2)
        self._threads.clear()
