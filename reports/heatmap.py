"""Heatmaps of a difference tensor of any rank: 2-D slices as tiny PNG images.

A tensor of shape (..., R, C) is laid out as one R x C slice per index of the
leading axes, each labelled with that index ("dW[1, 0, :, :]"); a vector is one
1 x N strip and a scalar one cell. Axes of size 1 are dropped first, so a
(1, C, 1, W) tensor is one C x W slice ("dx[0, :, 0, :]"), not C strips. Each element is one pixel of a PNG written
here with zlib (the browser scales it up, pixelated): a slice costs a few
hundred bytes, not one SVG element per cell.

Colours: blue for layer < oracle, red for layer > oracle, white for equal,
linear in the difference up to the largest finite |difference| (or the largest
allowed difference, if that is larger); NaN is black, +-Inf is gold.
"""
import base64
import struct
import zlib
from dataclasses import dataclass

import numpy as np

NEGATIVE = np.array([33, 102, 172], float)
ZERO = np.array([247, 247, 247], float)
POSITIVE = np.array([178, 24, 43], float)
NAN_RGB = (0, 0, 0)
INF_RGB = (230, 180, 0)


def png_bytes(rgb):
    """PNG file bytes of an (H, W, 3) uint8 image: 8-bit truecolour, no filtering."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, w * 3)], axis=1)

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b""))


def colours(diff, vmax):
    """(H, W, 3) uint8 colours of a 2-D difference array, scaled by ``vmax`` > 0."""
    d = np.asarray(diff, np.float64)
    finite = np.isfinite(d)
    t = np.clip(np.where(finite, d, 0.0) / vmax, -1.0, 1.0)[..., None]
    rgb = np.where(t < 0, ZERO + (NEGATIVE - ZERO) * -t, ZERO + (POSITIVE - ZERO) * t)
    rgb[np.isnan(d)] = NAN_RGB
    rgb[np.isinf(d)] = INF_RGB
    return np.rint(rgb).astype(np.uint8)


@dataclass
class Slice:
    """One 2-D slice of a tensor: its leading index, label and the (rows, cols) values.

    ``index`` indexes the tensor with its size-1 axes dropped (what ``squeeze``
    returns); ``template`` is the full index of the slice's cells, with None
    where the row and column go.
    """
    index: tuple
    label: str
    values: np.ndarray
    template: tuple = ()

    def full_index(self, r, c):
        """The index in the full tensor of this slice's cell (r, c)."""
        free = [r, c][-sum(t is None for t in self.template):] if None in self.template else []
        it = iter(free)
        return tuple(next(it) if t is None else t for t in self.template)


def squeeze(array):
    """``array`` without its size-1 axes (a tensor (1, C, 1, W) is drawn as C x W)."""
    a = np.asarray(array)
    return a.reshape([d for d in a.shape if d != 1])


def slices_of(tensor_name, array):
    """Every 2-D slice of ``array`` with its size-1 axes dropped (a scalar is 1 x 1, a vector
    1 x N), labelled by the full index: a (1, 3, 1, 4) tensor is one slice "t[0, :, 0, :]"."""
    a = np.asarray(array)
    kept = [i for i, d in enumerate(a.shape) if d != 1]
    sq = squeeze(a)
    drawn = kept[-2:] if sq.ndim >= 2 else kept[-1:]
    out = []
    for idx in np.ndindex(*sq.shape[:-2]):
        lead = dict(zip(kept[:-2], idx))
        template = tuple(None if i in drawn else lead.get(i, 0) for i in range(a.ndim))
        label = (f"{tensor_name} (scalar)" if a.ndim == 0 else
                 f"{tensor_name}[{', '.join(':' if t is None else str(t) for t in template)}]")
        values = sq[idx] if sq.ndim >= 2 else sq.reshape(1, -1)
        out.append(Slice(tuple(idx), label, values, template))
    return out


def pick_slices(slices, flagged, limit):
    """At most ``limit`` slices in index order, preferring those where ``flagged`` has a True.

    flagged: a boolean array shaped like the tensor (elements outside tolerance), or None.
    Returns (chosen slices, number left out).
    """
    if len(slices) <= limit:
        return slices, 0
    if flagged is None:
        return slices[:limit], len(slices) - limit
    hot = [s for s in slices if np.any(np.asarray(flagged)[s.index])]
    rest = [s for s in slices if not np.any(np.asarray(flagged)[s.index])]
    chosen = {id(s) for s in (hot + rest)[:limit]}
    return [s for s in slices if id(s) in chosen], len(slices) - limit


def scale_of(diff, floor=0.0):
    """The colour scale: the largest finite |difference|, at least ``floor`` (the tolerance,
    so that differences within tolerance stay pale); 1.0 when both are zero."""
    d = np.asarray(diff, np.float64)
    vmax = max(float(np.abs(d[np.isfinite(d)]).max(initial=0.0)), float(floor))
    return vmax if vmax > 0 else 1.0


def data_uri(values, vmax):
    """The PNG of one 2-D slice as a data: URI (no file, no request)."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(colours(values, vmax))).decode()


def legend_uri(width=128):
    """A horizontal colour bar from -scale (left) to +scale (right)."""
    ramp = np.linspace(-1.0, 1.0, width).reshape(1, width)
    return data_uri(np.repeat(ramp, 8, axis=0), 1.0)
