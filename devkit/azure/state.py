"""The emulator's memory between requests: recordings, queued faults and gates, retirements, the call counter.

Kept apart from the HTTP handling so every piece of shared state sits behind one lock in one place.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from dataclasses import dataclass, field

from devkit.azure.faults import Fault, Gate
from devkit.azure.recording import IMAGE_OPERATIONS, Recorded

__all__ = ["EmulatorState"]


@dataclass
class EmulatorState:
    """Thread-safe bookkeeping for one `AzureEmulator`."""

    seed: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    records: list[Recorded] = field(default_factory=list)
    faults: list[tuple[str | None, Fault]] = field(default_factory=list)
    gates: list[Gate] = field(default_factory=list)  # not yet matched to a call
    issued_gates: list[Gate] = field(default_factory=list)  # every gate handed out: released on stop()
    retired: set[str] = field(default_factory=set)
    image_calls: int = 0  # k, the number of image-making calls since start or reset()
    epoch: int = 0  # bumped by reset(), so a call answered after a reset does not touch the new recordings

    def record(self, entry: Recorded) -> tuple[tuple[int, int], int | None]:
        """Appends a request; returns where it was recorded and, for an image-making call, its call number k."""
        with self.lock:
            self.records.append(entry)
            k: int | None = None
            if entry.operation in IMAGE_OPERATIONS:
                k, self.image_calls = self.image_calls, self.image_calls + 1
            return (self.epoch, len(self.records) - 1), k

    def answered(self, where: tuple[int, int], status: int) -> None:
        epoch, index = where
        with self.lock:
            if epoch == self.epoch:
                self.records[index] = dataclasses.replace(self.records[index], status=status)

    def take_fault(self, operation: str) -> Fault | None:
        """The first queued fault meant for this operation (None = any image-making call), removed."""
        with self.lock:
            for position, (wanted, fault) in enumerate(self.faults):
                if wanted == operation or (wanted is None and operation in IMAGE_OPERATIONS):
                    del self.faults[position]
                    return fault
        return None

    def take_gate(self, operation: str) -> Gate | None:
        with self.lock:
            for position, gate in enumerate(self.gates):
                wanted = gate.operation
                if wanted == operation or (wanted is None and operation in IMAGE_OPERATIONS):
                    del self.gates[position]
                    return gate
        return None

    def add_gate(self, operation: str | None) -> Gate:
        gate = Gate(operation)
        with self.lock:
            self.gates.append(gate)
            self.issued_gates.append(gate)
        return gate

    def image_seed(self, prompt: str, k: int, index: int) -> int:
        """§10: image `index` of call `k` gets its own seed, from the prompt and the emulator's seed too."""
        digest = hashlib.sha256(f"{prompt}\0{self.seed}\0{k}\0{index}".encode()).digest()
        return int.from_bytes(digest[:8], "big")

    def release_all(self) -> None:
        with self.lock:
            gates = list(self.issued_gates)
        for gate in gates:
            gate.release()

    def reset(self) -> None:
        self.release_all()  # a call still held must not hang its thread forever
        with self.lock:
            self.records.clear()
            self.faults.clear()
            self.gates.clear()
            self.issued_gates.clear()
            self.retired.clear()
            self.image_calls = 0
            self.epoch += 1
