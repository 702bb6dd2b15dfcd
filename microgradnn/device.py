"""Devices: microgradnn computes with NumPy on the CPU, so ``cpu`` is the only device.

PyTorch code names devices (``device="cpu"``, ``.to(device)``, ``torch.device("cuda")``
behind an ``is_available()`` check); that code runs here unchanged on the CPU, and any
request for another device raises instead of silently computing elsewhere.
"""
from __future__ import annotations


class device:
    """A device name, as PyTorch's ``torch.device``; only ``"cpu"`` (or ``"cpu:0"``).

    >>> import microgradnn as mg
    >>> mg.device("cpu")
    device(type='cpu')
    """

    __slots__ = ("type", "index")

    def __init__(self, type: "str | device" = "cpu", index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu', got {type!r}")
        name, _, idx = type.partition(":")
        if idx:
            if not idx.isdigit():
                raise RuntimeError(f"device: invalid device string {type!r}")
            index = int(idx)
        if name != "cpu" or (index not in (None, 0)):
            raise RuntimeError(
                f"device: {type!r}{'' if index is None else f' (index {index})'} is not "
                "available: microgradnn computes with NumPy on the CPU only, so the only "
                "device is 'cpu' (mg.cuda.is_available() is False)")
        self.type = "cpu"
        self.index = index

    def __repr__(self) -> str:
        return "device(type='cpu')" if self.index is None else f"device(type='cpu', index={self.index})"

    def __str__(self) -> str:
        return "cpu" if self.index is None else f"cpu:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        return isinstance(other, device)

    def __hash__(self) -> int:
        return hash("cpu")


CPU = device("cpu")


def check(dev, op: str) -> None:
    """Accept None or the CPU for ``device=``; raise a clear error for anything else."""
    if dev is None or isinstance(dev, device):
        return
    if isinstance(dev, int) and not isinstance(dev, bool):
        raise RuntimeError(f"{op}: device {dev} means a GPU index; microgradnn computes "
                           "on the CPU only, so the only device is 'cpu'")
    try:
        device(dev)
    except TypeError:
        raise TypeError(f"{op}: device must be a string such as 'cpu' or a "
                        f"microgradnn.device, got {dev!r}") from None
    except RuntimeError as e:
        raise RuntimeError(f"{op}: {str(e)[len('device: '):]}") from None


def set_default_device(dev) -> None:
    """Accepts only the CPU (PyTorch's ``set_default_device``); other devices raise."""
    check(dev, "set_default_device")


def get_default_device() -> device:
    return CPU
