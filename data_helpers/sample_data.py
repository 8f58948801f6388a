"""Deterministic synthetic sample data, made on the spot (nothing is downloaded).

Three samples are available through :func:`load_sample`:

``"volume"``
    A 3D fluorescence-like image, ``(z, y, x) = (128, 256, 256)``, ``uint16``: bright
    nuclei of varied size and brightness in a dim, textured tissue, with photon shot
    noise, camera offset and read noise.
``"labels"``
    The matching label image (``uint32``): 0 is background, ``1..N`` one id per nucleus.
``"slide"``
    A large 2D slide-like image, ``(y, x) = (49152, 65536)``, ``uint8`` (3 GiB), made
    lazily as a dask array, tile by tile. A bright background with darker tissue
    sections full of cell-like texture, like a grey-scale brightfield scan.

Everything is a pure function of the arguments and a seed: the same call always gives
the same pixels. The slide goes further: each pixel depends only on its global
``(y, x)`` coordinates and the seed, so any tile can be computed on its own, in any
order, and a small slide is exactly the top-left corner of a big one.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any, Final

import dask.array as da
import numpy as np
import zarr
import zarr.storage

from data_helpers._checks import as_choice, as_int, as_ints, check_fits_in_memory

__all__ = [
    "ARRAY_TYPES",
    "DEFAULT_SLIDE_SHAPE",
    "DEFAULT_SLIDE_TILE",
    "DEFAULT_VOLUME_SHAPE",
    "MAX_IN_MEMORY_BYTES",
    "SAMPLES",
    "load_sample",
    "make_slide",
    "make_volume",
]

DEFAULT_VOLUME_SHAPE: Final[tuple[int, int, int]] = (128, 256, 256)
"""Shape ``(z, y, x)`` of the ``"volume"`` and ``"labels"`` samples."""

DEFAULT_SLIDE_SHAPE: Final[tuple[int, int]] = (49152, 65536)
"""Shape ``(y, x)`` of the full-size ``"slide"`` sample (3 GiB of ``uint8``)."""

DEFAULT_SLIDE_TILE: Final[int] = 1024
"""Edge length of the square tiles the slide is generated in (its dask chunks)."""

MAX_IN_MEMORY_BYTES: Final[int] = 256 * 2**20
"""Largest slide :func:`load_sample` agrees to materialise as numpy or zarr (256 MiB)."""

ARRAY_TYPES: Final[tuple[str, ...]] = ("numpy", "zarr", "dask")
"""The values accepted by the ``array_type`` argument of :func:`load_sample`."""

SAMPLES: Final = MappingProxyType(
    {
        "volume": "3D fluorescence-like image of nuclei in tissue, (z, y, x) = (128, 256, 256), "
        "uint16",
        "labels": "label image of the nuclei in 'volume', same shape, uint32 "
        "(0 = background, 1..N = one id per nucleus)",
        "slide": "large 2D slide-like image, (y, x) = (49152, 65536), uint8 (3 GiB), "
        "generated lazily tile by tile as a dask array",
    }
)
"""Name -> one-line description of every sample :func:`load_sample` knows."""

# Default chunks when a sample is returned as a zarr or dask array.
_VOLUME_CHUNKS: Final[tuple[int, int, int]] = (32, 128, 128)

# Peak memory of making a volume, per voxel (float64 fields, labels, noise, the image),
# as measured with tracemalloc: checked before a volume is made.
_VOLUME_BYTES_PER_VOXEL: Final = 32


# ----------------------------------------------------------------------------
# The 3D volume
# ----------------------------------------------------------------------------


def _smooth_weights(n_out: int, n_grid: int) -> np.ndarray:
    """Matrix ``(n_out, n_grid)`` interpolating a grid of ``n_grid >= 2`` onto ``n_out`` samples.

    Interpolation is linear with "smoothstep" weights, so the upsampled field has no
    visible kinks at the grid points.
    """
    pos = np.linspace(0.0, n_grid - 1.0, n_out)
    # Index of the grid point before each sample (the last sample uses the last interval).
    lo = np.minimum(np.floor(pos).astype(np.intp), n_grid - 2)
    frac = pos - lo
    frac = frac * frac * (3.0 - 2.0 * frac)
    weights = np.zeros((n_out, n_grid), dtype=np.float64)
    rows = np.arange(n_out)
    weights[rows, lo] = 1.0 - frac
    weights[rows, lo + 1] = frac
    return weights


def _smooth_noise(
    rng: np.random.Generator, shape: tuple[int, int, int], spacing: float
) -> np.ndarray:
    """Smooth random 3D field in [0, 1]: random values every ``spacing`` voxels, interpolated.

    The interpolation is separable: one small matrix product per axis instead of a
    3D convolution (and no scipy). x and y are interpolated on the small grid first,
    so only the last product (along z) makes a full-size array.
    """
    nz, ny, nx = shape
    gz, gy, gx = (max(2, math.ceil(n / spacing) + 1) for n in shape)
    grid = rng.random((gz, gy, gx))
    grid = grid @ _smooth_weights(nx, gx).T  # (gz, gy, nx)
    grid = _smooth_weights(ny, gy) @ grid  # (gz, ny, nx)
    field: np.ndarray = (_smooth_weights(nz, gz) @ grid.reshape(gz, ny * nx)).reshape(shape)
    return field


@functools.lru_cache(maxsize=4)
def _cached_volume(
    shape: tuple[int, int, int], seed: int, n_nuclei: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Build the volume and its labels once per argument set (see :func:`make_volume`)."""
    nz, ny, nx = shape
    # Here, not in make_volume: a volume already in the cache needs no new memory.
    check_fits_in_memory(
        f"the arrays making a volume of shape={shape!r}",
        _VOLUME_BYTES_PER_VOXEL * nz * ny * nx,
        "use a smaller shape (make_slide makes a large 2D image lazily)",
    )
    rng = np.random.default_rng(seed)

    # Tissue: a slowly varying autofluorescence with a finer texture on top
    # (mean photon counts per voxel, before noise).
    coarse = _smooth_noise(rng, shape, spacing=32)
    fine = _smooth_noise(rng, shape, spacing=6)
    # photons = 10 + coarse * (35 + 15 * fine), in place: these arrays are large.
    photons = fine * 15.0
    photons += 35.0
    photons *= coarse
    photons += 10.0
    del coarse

    labels = np.zeros(shape, dtype=np.uint32)
    if n_nuclei is None:
        # About 250 nuclei in the default 128 x 256 x 256 volume, same density otherwise.
        n_nuclei = max(1, round(250 * (nz * ny * nx) / (128 * 256 * 256)))

    # Nuclei are ellipsoids, flatter in z (the z step of a confocal stack is larger than
    # the pixel size), rotated in the yx plane. They may not overlap, so each label id is
    # one whole nucleus; a placement that would overlap is drawn again.
    # The nucleus and its soft edge (1.1 radii) must fit; y and x radii both bounded by
    # the smaller of y and x, since the ellipse is rotated.
    max_radius = (np.array([nz, min(ny, nx), min(ny, nx)]) - 3) / 2.2
    label = 0
    attempts = 0
    while label < n_nuclei and attempts < 50 * n_nuclei:
        attempts += 1
        rz, ry, rx = rng.uniform([4.0, 6.0, 6.0], [8.0, 13.0, 13.0])
        radii = np.clip([rz, ry, rx], 1.5, max_radius)
        angle = rng.uniform(0.0, np.pi)
        brightness = rng.uniform(120.0, 600.0)
        # Half extent of the bounding box holding the ellipsoid and its soft edge. The
        # ellipse is rotated in yx, so it may reach its longest radius along y or x.
        longest_yx = max(radii[1], radii[2])
        half = np.ceil(np.array([radii[0], longest_yx, longest_yx]) * 1.1).astype(int)
        centre = [rng.integers(h, n - h) for h, n in zip(half, shape, strict=True)]
        box = tuple(slice(c - h, c + h + 1) for c, h in zip(centre, half, strict=True))
        z, y, x = np.ogrid[-half[0] : half[0] + 1, -half[1] : half[1] + 1, -half[2] : half[2] + 1]
        # Rotate y, x by `angle`, then measure the normalised radius r (r = 1 on the surface).
        yr = y * np.cos(angle) - x * np.sin(angle)
        xr = y * np.sin(angle) + x * np.cos(angle)
        r = np.sqrt((z / radii[0]) ** 2 + (yr / radii[1]) ** 2 + (xr / radii[2]) ** 2)
        inside = r <= 1.0
        if labels[box][inside].any():
            continue  # overlaps an earlier nucleus: try another place
        label += 1
        labels[box][inside] = label
        # Full brightness in the core, falling to 0 at r = 1.1: a blurred-looking edge.
        profile = np.clip((1.1 - r) / 0.3, 0.0, 1.0)
        # Chromatin texture: the fine field modulates the nucleus by +-25 %.
        photons[box] += brightness * profile * (0.75 + 0.5 * fine[box])

    # Shot noise is Poisson in the number of photons; the camera adds an offset and a
    # little Gaussian read noise (standard deviation 2), then rounds to integers.
    counts = rng.poisson(photons).astype(np.float32)
    del photons
    read_noise = rng.standard_normal(shape, dtype=np.float32)
    read_noise *= 2.0
    counts += read_noise
    counts += 100.0
    np.rint(counts, out=counts)
    np.clip(counts, 0, np.iinfo(np.uint16).max, out=counts)
    image = counts.astype(np.uint16)

    # The cache hands out copies, but freezing its own arrays guards against mistakes.
    image.flags.writeable = False
    labels.flags.writeable = False
    return image, labels


def make_volume(
    shape: Sequence[int] = DEFAULT_VOLUME_SHAPE,
    *,
    seed: int = 0,
    n_nuclei: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Make a 3D fluorescence-like image of nuclei and its label image.

    Nuclei are ellipsoids of varied size, orientation and brightness, with a soft edge
    and a chromatin-like texture, in a dim textured tissue. The expected photon counts
    get Poisson shot noise, then a camera offset of 100 and Gaussian read noise
    (standard deviation 2). Results are cached, so repeated calls are fast; each call
    returns fresh copies.

    Parameters
    ----------
    shape
        ``(z, y, x)`` shape, three integers each at least 8. Default ``(128, 256, 256)``.
    seed
        Seed of the random generator (an integer >= 0). Same seed, same data.
    n_nuclei
        Number of nuclei to place (an integer >= 0). Default: about 250 for the default
        shape, and the same density for other shapes. Fewer may fit in a crowded volume.

    Returns
    -------
    image : numpy.ndarray
        ``uint16`` image of shape ``shape``.
    labels : numpy.ndarray
        ``uint32`` label image of shape ``shape``: 0 is background, ``1..N`` one id per
        nucleus (every id in ``1..N`` is present).

    Raises
    ------
    TypeError
        If an argument has the wrong type (a float or a bool for an integer, a shape
        that is not a sequence).
    ValueError
        If an argument has a wrong value (a shape of the wrong length or with a side
        below 8, a negative seed or count), or if the volume cannot fit in memory.

    Examples
    --------
    >>> image, labels = make_volume((16, 48, 48), seed=1)
    >>> image.shape, image.dtype, labels.dtype
    ((16, 48, 48), dtype('uint16'), dtype('uint32'))
    >>> bool(image[labels > 0].mean() > image[labels == 0].mean())
    True
    """
    z, y, x = as_ints("shape", shape, 3, minimum=8)
    seed = as_int("seed", seed, minimum=0)
    if n_nuclei is not None:
        n_nuclei = as_int("n_nuclei", n_nuclei, minimum=0, accepted="None or an integer >= 0")
    image, labels = _cached_volume((z, y, x), seed, n_nuclei)
    return image.copy(), labels.copy()


# ----------------------------------------------------------------------------
# The large lazy slide
# ----------------------------------------------------------------------------
#
# Every pixel value is computed from its *global* coordinates and the seed only,
# with element-wise arithmetic (no sums over arrays, no matrix products, whose
# rounding could depend on the tile's size). So a tile is bit-identical whoever
# computes it, whenever, and a small slide is the top-left corner of a big one.

# Smooth fields (tissue outline, stain strength) are evaluated on a coarse lattice,
# one point every _COARSE pixels, then interpolated to pixels.
_COARSE: Final = 16
# Lattice spacings (pixels) of the octaves of the tissue-outline noise, largest first.
_TISSUE_OCTAVES: Final = (8192, 4096, 2048, 1024, 512, 256, 128)
_STAIN_OCTAVES: Final = (4096, 1024, 256, 64)
# Noise level above which there is tissue: a third to a half of a slide is tissue.
_TISSUE_THRESHOLD: Final = 0.55
_BACKGROUND: Final = 232.0  # grey level of the empty glass
# Periods (pixels) of the small repeating textures. Pairs of coprime periods: the sum
# of two patterns repeats only every p1 * p2 pixels, far more than the image size.
_CELL_PERIODS: Final = (509, 487)
_GRAIN_PERIODS: Final = (61, 67)


def _hash_uniform(*keys: int | np.ndarray) -> np.ndarray:
    """Uniform float64 in [0, 1) from integer keys, by a splitmix64-style hash.

    Integer arithmetic wraps modulo 2**64, which is what a hash wants; it is exact and
    element-wise, so the value for given keys never depends on the array it is in.
    """
    h = np.zeros(np.broadcast_shapes(*(np.shape(k) for k in keys)), dtype=np.uint64)
    for k in keys:
        # A Python int key is taken modulo 2**64, as uint64 arithmetic takes the rest:
        # keys made from a large seed (2 * seed * 101, ...) need not fit in 64 bits.
        k_64 = k % 2**64 if isinstance(k, int) else k
        h = (h ^ np.asarray(k_64, dtype=np.uint64)) * np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(31)
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    # The top 53 bits make a float in [0, 1) with full double precision.
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _value_noise(y: np.ndarray, x: np.ndarray, spacing: int, key: int) -> np.ndarray:
    """Smooth noise in [0, 1] at pixel coordinates ``y[:, None], x[None, :]``.

    Random values sit on a lattice every ``spacing`` pixels (drawn by hashing the
    lattice coordinates with ``key``) and are interpolated with smoothstep weights.
    ``y`` and ``x`` must be increasing.
    """
    iy, fy = np.divmod(y, spacing)
    ix, fx = np.divmod(x, spacing)
    # Hash only the lattice points around the requested coordinates.
    lattice = _hash_uniform(
        key, np.arange(iy[0], iy[-1] + 2)[:, None], np.arange(ix[0], ix[-1] + 2)[None, :]
    )
    iy = iy - iy[0]
    ix = ix - ix[0]
    wy = fy / spacing
    wx = fx / spacing
    wy = (wy * wy * (3.0 - 2.0 * wy))[:, None]
    wx = wx * wx * (3.0 - 2.0 * wx)
    # Interpolate along x on the lattice rows, then along y.
    rows = lattice[:, ix] + (lattice[:, ix + 1] - lattice[:, ix]) * wx
    noise: np.ndarray = rows[iy] + (rows[iy + 1] - rows[iy]) * wy
    return noise


def _fractal_noise(y: np.ndarray, x: np.ndarray, octaves: Sequence[int], key: int) -> np.ndarray:
    """Octaves of value noise, each half as strong as the previous one, scaled to ~[0, 1]."""
    total = np.zeros((y.size, x.size))
    weight = 1.0
    weights = 0.0
    for octave, spacing in enumerate(octaves):
        # A fixed order of additions keeps the result exactly reproducible.
        total += weight * _value_noise(y, x, spacing, key * 101 + octave)
        weights += weight
        weight *= 0.5
    return total / weights


def _tissue_mask(y: np.ndarray, x: np.ndarray, seed: int) -> np.ndarray:
    """Tissue (1) or glass (0), with a thin soft border, at pixels ``y[:, None], x[None, :]``.

    Thresholding smooth fractal noise makes irregular tissue "islands".
    """
    outline = _fractal_noise(y, x, _TISSUE_OCTAVES, key=2 * seed)
    mask = np.clip((outline - _TISSUE_THRESHOLD) / 0.015, 0.0, 1.0)
    mask = mask * mask * (3.0 - 2.0 * mask)
    # Flush the tiny values near the border to exactly 0: as float32 they would be
    # "subnormal" numbers, on which arithmetic is many times slower.
    mask[mask < 1e-4] = 0.0
    return mask


@functools.lru_cache(maxsize=64)
def _tissue_offset(seed: int) -> tuple[int, int]:
    """Where the slide's origin sits in the tissue layout of this seed.

    Chosen (once per seed, by a deterministic search) so that the top-left 2048 x 2048
    pixels show tissue and glass: a small slide, which is that corner, is interesting
    to look at, not blank glass.
    """
    probe = np.arange(0, 2048, 64)
    for attempt in range(1000):
        # A candidate shift, drawn from the hash, far from the lattice origin.
        shift = _hash_uniform(seed, attempt, np.array([0, 1]))
        oy, ox = (2**20 + int(v * 2**20) for v in shift)
        tissue = (_tissue_mask(probe + oy, probe + ox, seed) > 0.5).mean()
        if 0.35 <= tissue <= 0.75:
            return oy, ox
    return 2**20, 2**20  # pragma: no cover - a corner that fits is always found early


def _coarse_darkening(cy: np.ndarray, cx: np.ndarray, seed: int) -> np.ndarray:
    """How much darker than the glass the tissue is, on the coarse lattice points.

    0 on empty glass; inside tissue, a stain strength varying between about 55 and 110
    grey levels.
    """
    oy, ox = _tissue_offset(seed)
    y = cy * _COARSE + oy
    x = cx * _COARSE + ox
    mask = _tissue_mask(y, x, seed)
    stain = _fractal_noise(y, x, _STAIN_OCTAVES, key=2 * seed + 1)
    return (mask * (55.0 + 55.0 * stain)).astype(np.float32)


def _periodic_smooth_noise(rng: np.random.Generator, period: int, sigma: float) -> np.ndarray:
    """Smooth random ``(period, period)`` texture in [0, 1] that tiles seamlessly.

    White noise blurred by a Gaussian of ``sigma`` pixels, in Fourier space: the
    Fourier transform treats the image as periodic, so the blur wraps around the edges.
    """
    freq = np.fft.fftfreq(period)
    gaussian = np.exp(-2.0 * (np.pi * sigma) ** 2 * (freq[:, None] ** 2 + freq[None, :] ** 2))
    smooth = np.fft.ifft2(np.fft.fft2(rng.standard_normal((period, period))) * gaussian).real
    texture: np.ndarray = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return texture


@functools.lru_cache(maxsize=8)
def _slide_patterns(seed: int) -> tuple[np.ndarray, ...]:
    """Small periodic textures of the slide: two of cells, two of grain (cached).

    A cell pattern holds dark, slightly elongated nuclei, more in some places than in
    others, on a cloudy cytoplasm. Each pattern is periodic: the texture of pixel
    ``(y, x)`` is the pattern at ``(y mod p, x mod p)``. Summing two patterns of
    coprime periods hides the repetition.
    """
    rng = np.random.default_rng([seed, 7])
    patterns = []
    for period in _CELL_PERIODS:
        cytoplasm = _periodic_smooth_noise(rng, period, sigma=5.0)
        density = _periodic_smooth_noise(rng, period, sigma=25.0)
        pattern = (0.2 * cytoplasm).astype(np.float32)
        for _ in range(period * period // 250):
            cy, cx = rng.integers(0, period, size=2)
            if rng.random() > density[cy, cx] ** 2:
                continue  # fewer nuclei where the density is low: cells cluster
            ry, rx = rng.uniform(2.5, 6.0, size=2)
            darkness = rng.uniform(0.45, 0.8)
            r = math.ceil(max(ry, rx)) + 1
            d = np.arange(-r, r + 1)
            dist = np.sqrt((d[:, None] / ry) ** 2 + (d[None, :] / rx) ** 2)
            # 1 inside the ellipse, 0 outside, a one-pixel ramp in between.
            spot = darkness * np.clip((1.0 - dist) * min(ry, rx) + 0.5, 0.0, 1.0)
            # Wrap-around indices keep the pattern seamless across its period.
            where = np.ix_((cy + d) % period, (cx + d) % period)
            pattern[where] = np.maximum(pattern[where], spot.astype(np.float32))
        patterns.append(pattern)
    for period in _GRAIN_PERIODS:
        # Uniform noise of +-3 grey levels; two of them make a triangular distribution.
        patterns.append(rng.uniform(-3.0, 3.0, size=(period, period)).astype(np.float32))
    for p in patterns:
        p.flags.writeable = False
    return tuple(patterns)


def _add_periodic(out: np.ndarray, pattern: np.ndarray, y0: int, x0: int) -> None:
    """Add to ``out`` a pattern repeated over the whole plane, seen from pixel ``(y0, x0)``.

    ``out`` holds pixels ``[y0:y0+height, x0:x0+width]``. The pattern is rolled so that
    global pixel ``(y0, x0)`` lands at its corner, repeated along x into one strip, and
    the strip is added down ``out``: a few block copies instead of one look-up per pixel.
    """
    height, width = out.shape
    period_y, period_x = pattern.shape
    rolled = np.roll(pattern, (-(y0 % period_y), -(x0 % period_x)), axis=(0, 1))
    strip = np.tile(rolled, (1, -(-width // period_x)))[:, :width]  # ceiling division
    for top in range(0, height, period_y):
        rows = min(period_y, height - top)
        out[top : top + rows] += strip[:rows]


def _slide_region(y0: int, x0: int, height: int, width: int, seed: int) -> np.ndarray:
    """Pixels ``[y0:y0+height, x0:x0+width]`` of the slide with this seed, as uint8."""
    # 1. The darkening on the coarse lattice points around the region ...
    cy = np.arange(y0 // _COARSE, (y0 + height - 1) // _COARSE + 2, dtype=np.int64)
    cx = np.arange(x0 // _COARSE, (x0 + width - 1) // _COARSE + 2, dtype=np.int64)
    coarse = _coarse_darkening(cy, cx, seed)
    # 2. ... interpolated linearly to the pixels, first along x, then along y.
    ix, fx = np.divmod(np.arange(x0, x0 + width), _COARSE)
    ix -= cx[0]
    wx = (fx / _COARSE).astype(np.float32)
    along_x = coarse[:, ix] + (coarse[:, ix + 1] - coarse[:, ix]) * wx
    iy, fy = np.divmod(np.arange(y0, y0 + height), _COARSE)
    iy -= cy[0]
    wy = (fy / _COARSE).astype(np.float32)[:, None]
    darkening = along_x[iy + 1]
    top = along_x[iy]
    darkening -= top
    darkening *= wy
    darkening += top
    del top  # large arrays are freed as soon as possible; a tile needs only a few

    # 3. Tissue absorbs light: darker where the stain is strong, darkest on the nuclei
    # (the cells texture, two periodic patterns). Added on top, everywhere, a fine
    # grain of sensor noise (two more patterns):
    #     value = background - darkening * (0.55 + cells) + 3 * grain
    # computed in place, in one buffer, because these arrays are large.
    cells_a, cells_b, grain_a, grain_b = _slide_patterns(seed)
    value = np.full((height, width), 0.55, dtype=np.float32)
    _add_periodic(value, cells_a, y0, x0)
    _add_periodic(value, cells_b, y0, x0)
    value *= darkening
    del darkening
    np.subtract(_BACKGROUND, value, out=value)
    _add_periodic(value, grain_a, y0, x0)
    _add_periodic(value, grain_b, y0, x0)
    np.clip(value, 0.0, 255.0, out=value)
    return np.rint(value, out=value).astype(np.uint8)


def _slide_block(seed: int, block_info: dict[Any, Any] | None = None) -> np.ndarray:
    """``map_blocks`` callback: compute the tile at ``block_info``'s array location."""
    assert block_info is not None  # dask always passes it to a function that asks for it
    (y0, y1), (x0, x1) = block_info[None]["array-location"]
    return _slide_region(y0, x0, y1 - y0, x1 - x0, seed)


def make_slide(
    shape: Sequence[int] = DEFAULT_SLIDE_SHAPE,
    *,
    tile: int | Sequence[int] = DEFAULT_SLIDE_TILE,
    seed: int = 0,
) -> da.Array:
    """Make a large 2D slide-like image, lazily, as a dask array of tiles.

    Nothing is computed until you ask for pixels (``.compute()``, slicing then
    ``np.asarray``, writing to Zarr, ...). Each tile is computed from its global
    coordinates and ``seed`` only: any tile can be computed alone (in a few
    milliseconds), in any order, with identical results, and a slide of a smaller
    ``shape`` is exactly the top-left corner of a larger one.

    Parameters
    ----------
    shape
        ``(y, x)`` shape, two integers >= 1. Default ``(49152, 65536)``: 3 GiB of
        ``uint8``.
    tile
        Tile (chunk) size: one int (>= 1) for square tiles, or ``(tile_y, tile_x)``.
        Tiles at the far edges are smaller when the shape is not a multiple.
    seed
        An integer >= 0; different seeds give different slides.

    Returns
    -------
    dask.array.Array
        ``uint8`` array of shape ``shape`` with chunks ``tile``.

    Raises
    ------
    TypeError
        If an argument has the wrong type (a float or a bool for an integer, a shape
        that is not a sequence).
    ValueError
        If an argument has a wrong value (a shape or a tile of the wrong length or with
        a side below 1, a negative seed).

    Examples
    --------
    >>> slide = make_slide()
    >>> slide.shape, slide.dtype, slide.chunksize
    ((49152, 65536), dtype('uint8'), (1024, 1024))
    >>> small = make_slide((300, 500), tile=256)
    >>> bool((small[:100, :100].compute() == slide[:100, :100].compute()).all())
    True
    """
    height, width = as_ints("shape", shape, 2, minimum=1)
    tile_y, tile_x = _tile(tile)
    seed = as_int("seed", seed, minimum=0)
    # Whole tiles from the origin, then what is left at the far edge.
    chunks = tuple(
        (t,) * (n // t) + ((n % t,) if n % t else ())
        for n, t in ((height, tile_y), (width, tile_x))
    )
    # No input array: dask calls _slide_block once per tile and tells it where the
    # tile sits through `block_info`. The name makes equal slides share dask keys.
    slide: da.Array = da.map_blocks(
        _slide_block,
        seed,
        chunks=chunks,
        dtype=np.uint8,
        meta=np.empty((0, 0), dtype=np.uint8),
        name=f"slide-seed{seed}-{height}x{width}-tile{tile_y}x{tile_x}",
    )
    return slide


def _tile(tile: object) -> tuple[int, int]:
    """``tile`` (one int or a pair) as ``(tile_y, tile_x)``."""
    accepted = "an integer >= 1 or a (tile_y, tile_x) pair of integers >= 1"
    if isinstance(tile, Sequence | np.ndarray) and not isinstance(tile, str):
        tile_y, tile_x = as_ints("tile", tile, 2, minimum=1, accepted=accepted)
        return tile_y, tile_x
    side = as_int("tile", tile, minimum=1, accepted=accepted)
    return side, side


# ----------------------------------------------------------------------------
# One entry point
# ----------------------------------------------------------------------------


def _to_zarr(data: np.ndarray, chunks: Sequence[int]) -> zarr.Array[Any]:
    """Copy ``data`` into a new zarr array held in memory."""
    array = zarr.create_array(
        store=zarr.storage.MemoryStore(),
        shape=data.shape,
        dtype=data.dtype,
        chunks=tuple(min(c, n) for c, n in zip(chunks, data.shape, strict=True)),
    )
    array[...] = data
    return array


def load_sample(
    name: str,
    array_type: str = "numpy",
    *,
    chunks: Sequence[int] | None = None,
    **kwargs: Any,
) -> np.ndarray | zarr.Array[Any] | da.Array:
    """Load a sample image by name, as a numpy, zarr or dask array.

    Parameters
    ----------
    name
        One of :data:`SAMPLES`: ``"volume"``, ``"labels"`` or ``"slide"``.
    array_type
        ``"numpy"`` (in memory), ``"zarr"`` (a zarr array in a
        ``zarr.storage.MemoryStore``) or ``"dask"`` (a dask array). The full-size
        ``"slide"`` is too big for memory: only ``"dask"`` works for it, unless a
        smaller ``shape=`` is given.
    chunks
        Chunk shape of a zarr or dask result, one integer >= 1 per axis. Default
        ``(32, 128, 128)`` for the volume and labels, the tile shape for the slide.
    **kwargs
        Passed to the generator: :func:`make_volume` (``shape``, ``seed``,
        ``n_nuclei``) for ``"volume"`` and ``"labels"``, :func:`make_slide`
        (``shape``, ``tile``, ``seed``) for ``"slide"``.

    Returns
    -------
    numpy.ndarray or zarr.Array or dask.array.Array
        The sample, of the requested array type.

    Raises
    ------
    TypeError
        If an argument has the wrong type (a name that is not a string, chunks that
        are not a sequence of integers, an argument the generator does not take).
    ValueError
        If an argument has a wrong value (an unknown name or array type, chunks of the
        wrong length or below 1, a slide too large for ``"numpy"`` or ``"zarr"``).
        Arguments are checked before any sample is made.

    Examples
    --------
    >>> sorted(SAMPLES)
    ['labels', 'slide', 'volume']
    >>> load_sample("volume").shape
    (128, 256, 256)
    >>> z = load_sample("labels", "zarr", shape=(16, 32, 32))
    >>> z.shape, z.chunks
    ((16, 32, 32), (16, 32, 32))
    >>> load_sample("slide", "dask").chunksize
    (1024, 1024)
    >>> load_sample("slide", shape=(64, 96)).shape
    (64, 96)
    """
    name = as_choice("name", name, sorted(SAMPLES))
    array_type = as_choice("array_type", array_type, ARRAY_TYPES)
    # Checked before the sample is made (a volume takes seconds).
    chunks_t = None if chunks is None else as_ints(
        "chunks", chunks, 2 if name == "slide" else 3, minimum=1
    )

    if name == "slide":
        lazy = make_slide(**kwargs)
        if chunks_t is not None:
            lazy = lazy.rechunk(chunks_t)
        if array_type == "dask":
            return lazy
        if lazy.nbytes > MAX_IN_MEMORY_BYTES:
            raise ValueError(
                f"array_type={array_type!r} would put the whole slide of shape {lazy.shape} "
                f"({lazy.nbytes / 2**30:.1f} GiB) in memory, more than the "
                f"{MAX_IN_MEMORY_BYTES // 2**20} MiB allowed: use array_type='dask', or "
                "ask for a smaller slide with shape=(height, width)"
            )
        data: np.ndarray = lazy.compute()
        return data if array_type == "numpy" else _to_zarr(data, tuple(map(int, lazy.chunksize)))

    image, labels = make_volume(**kwargs)
    data = image if name == "volume" else labels
    volume_chunks = _VOLUME_CHUNKS if chunks_t is None else chunks_t
    if array_type == "numpy":
        return data
    if array_type == "zarr":
        return _to_zarr(data, volume_chunks)
    lazy_volume: da.Array = da.from_array(
        data, chunks=volume_chunks
    )
    return lazy_volume
