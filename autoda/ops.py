"""The op registry: the one list of augmentation ops.

The compiler checks policies against it, the engine implements exactly these ops, and the
language reference and the LLM prompts are generated from it; nothing else lists ops.

Every op with a magnitude maps the policy's magnitude ``m`` in [0, 1] linearly onto its own
parameter: ``value = at_zero + m * (at_one - at_zero)``. Magnitude 0 is the identity for
every op. For a *signed* op the deviation from the identity gets a random sign per sample
(rotate left or right, brighten or darken), as in RandAugment.

>>> OPS["rotate"].parameter(0.5)
15.0
>>> OPS["posterize"].param.identity
8.0
>>> sorted(OPS)[:3]
['autocontrast', 'brightness', 'color']
"""
from __future__ import annotations

from dataclasses import dataclass

OP_KINDS = ("identity", "geometric", "colour", "filter", "erase")


@dataclass(frozen=True)
class Param:
    """How an op reads its magnitude."""

    name: str
    unit: str
    at_zero: float  # value at magnitude 0: the identity
    at_one: float  # value at magnitude 1: the strongest
    signed: bool = False  # deviation from identity gets a random sign per sample

    @property
    def identity(self) -> float:
        return self.at_zero

    def value(self, magnitude: float) -> float:
        return self.at_zero + magnitude * (self.at_one - self.at_zero)


@dataclass(frozen=True)
class OpSpec:
    name: str
    kind: str
    summary: str
    param: Param | None  # None: the op has no magnitude; it is applied or not
    cost: float  # static cost estimate, in image passes per sample (see compiler.cost)

    @property
    def has_magnitude(self) -> bool:
        return self.param is not None

    def parameter(self, magnitude: float) -> float:
        if self.param is None:
            raise ValueError(f"op {self.name!r} takes no magnitude")
        return self.param.value(magnitude)


def _op(name: str, kind: str, summary: str, param: Param | None = None, cost: float = 1.0) -> OpSpec:
    return OpSpec(name, kind, summary, param, cost)


# Geometric ops compose into one 2x3 matrix per sample and share one warp; their own
# cost is building their matrix, the warp itself is charged once (WARP_COST).
WARP_COST = 2.0
_GEO = 0.1

_OPS = (
    _op("identity", "identity", "leaves the image unchanged", cost=0.0),
    _op("flip_lr", "geometric", "mirrors left-right", cost=_GEO),
    _op("flip_ud", "geometric", "mirrors top-bottom", cost=_GEO),
    _op("rotate", "geometric", "rotates about the centre",
        Param("angle", "degrees", 0.0, 30.0, signed=True), _GEO),
    _op("shear_x", "geometric", "shears horizontally",
        Param("shear", "factor", 0.0, 0.3, signed=True), _GEO),
    _op("shear_y", "geometric", "shears vertically",
        Param("shear", "factor", 0.0, 0.3, signed=True), _GEO),
    _op("translate_x", "geometric", "shifts horizontally",
        Param("shift", "fraction of width", 0.0, 0.3, signed=True), _GEO),
    _op("translate_y", "geometric", "shifts vertically",
        Param("shift", "fraction of height", 0.0, 0.3, signed=True), _GEO),
    _op("scale", "geometric", "zooms in or out about the centre",
        Param("zoom", "factor", 1.0, 1.4, signed=True), _GEO),
    _op("crop", "geometric", "pads with zeros and crops back at a random offset up to the pad",
        Param("pad", "fraction of side", 0.0, 0.25), _GEO),
    _op("resized_crop", "geometric",
        "crops a random box (area drawn down to the parameter, aspect ratio up to 4:3) and resizes it back",
        Param("area", "smallest fraction kept", 1.0, 0.08), _GEO),
    _op("autocontrast", "colour", "stretches each channel to the full range", cost=1.5),
    _op("equalize", "colour", "equalises each channel's histogram", cost=4.0),
    _op("invert", "colour", "inverts every pixel"),
    _op("posterize", "colour", "keeps fewer bits per channel",
        Param("bits", "bits kept", 8.0, 4.0)),
    _op("solarize", "colour", "inverts pixels above a threshold",
        Param("threshold", "fraction of max value", 1.0, 0.0)),
    _op("solarize_add", "colour", "adds a constant to pixels below half the max value",
        Param("addition", "fraction of max value", 0.0, 110 / 255)),
    _op("brightness", "colour", "scales brightness",
        Param("factor", "factor", 1.0, 1.9, signed=True)),
    _op("contrast", "colour", "scales contrast about the mean grey",
        Param("factor", "factor", 1.0, 1.9, signed=True), 1.5),
    _op("color", "colour", "scales saturation",
        Param("factor", "factor", 1.0, 1.9, signed=True), 1.5),
    _op("hue", "colour", "rotates hue",
        Param("shift", "fraction of hue circle", 0.0, 0.5, signed=True), 3.0),
    _op("grayscale", "colour", "replaces colour by luminance"),
    _op("gaussian_noise", "colour", "adds per-pixel gaussian noise",
        Param("std", "fraction of max value", 0.0, 0.1), 1.5),
    _op("sharpness", "filter", "sharpens (factor above 1) or softens (below 1), as PIL does",
        Param("factor", "factor", 1.0, 1.9, signed=True), 3.0),
    _op("gaussian_blur", "filter", "blurs with a gaussian kernel",
        Param("sigma", "pixels", 0.0, 2.0), 3.0),
    _op("smooth", "filter", "blends towards PIL's SMOOTH filter",
        Param("blend", "fraction", 0.0, 1.0), 3.0),
    _op("detail", "filter", "blends towards PIL's DETAIL filter",
        Param("blend", "fraction", 0.0, 1.0), 3.0),
    _op("edge_enhance", "filter", "blends towards PIL's EDGE_ENHANCE filter",
        Param("blend", "fraction", 0.0, 1.0), 3.0),
    _op("cutout", "erase", "erases a square at a random centre",
        Param("side", "fraction of side", 0.0, 0.5), 0.5),
)

OPS: dict[str, OpSpec] = {op.name: op for op in _OPS}
