"""Training images that stay on the host (a memory-mapped split larger than the device's
memory), fed to the device batch by batch.

The epoch's order is the on-device path's (the same device-side permutation, read to the
host once per epoch), so the batches, and the training, are the same. A thread gathers
the next batch's images from the host tensor into pinned memory while the device trains
on the current one; the copy to the device is asynchronous, and a pinned buffer is
refilled only after its copy has finished. On a CPU device the gathered batch is used as
it is.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import torch

_BUFFERS = 2  # the batch in training and the one being gathered


def fits_on_device(images: torch.Tensor, device: torch.device, share: float = 0.5) -> bool:
    """Whether ``images`` take at most ``share`` of the device's free memory (a CPU device:
    the host's, where the images already are)."""
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return images.numel() * images.element_size() <= share * free


class HostBatches:
    def __init__(self, images: torch.Tensor, device: torch.device, batch_size: int) -> None:
        if images.device.type != "cpu":
            raise ValueError(f"streamed images stay on the host, not on {images.device}")
        self.images, self.device, self.batch_size = images, torch.device(device), batch_size
        self.pinned = self.device.type == "cuda"
        shape = (batch_size, *images.shape[1:])
        self._buffers = [torch.empty(shape, dtype=images.dtype, pin_memory=self.pinned) for _ in range(_BUFFERS)]
        self._copied: list[torch.cuda.Event | None] = [None] * _BUFFERS

    def _gather(self, index: torch.Tensor, slot: int) -> torch.Tensor:
        if not self.pinned:
            return self.images.index_select(0, index)
        if self._copied[slot] is not None:
            self._copied[slot].synchronize()  # its last batch has reached the device
        out = self._buffers[slot][: len(index)]
        torch.index_select(self.images, 0, index, out=out)
        return out

    def epoch(self, order: torch.Tensor) -> Iterator[torch.Tensor]:
        """The batches of ``order`` (the epoch's permutation, on the device), each on the device."""
        host_order = order.cpu()  # one read per epoch
        starts = range(0, len(host_order), self.batch_size)
        with ThreadPoolExecutor(1, thread_name_prefix="autoda-batches") as gatherer:
            pending = gatherer.submit(self._gather, host_order[: self.batch_size], 0) if len(starts) else None
            for i, begin in enumerate(starts):
                host = pending.result()
                if i + 1 < len(starts):
                    following = host_order[begin + self.batch_size: begin + 2 * self.batch_size]
                    pending = gatherer.submit(self._gather, following, (i + 1) % _BUFFERS)
                if not self.pinned:
                    yield host
                    continue
                batch = host.to(self.device, non_blocking=True)
                event = torch.cuda.Event()
                event.record()
                self._copied[i % _BUFFERS] = event
                yield batch
