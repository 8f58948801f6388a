"""Companion package of the book: chunked images, Zarr, OME-Zarr and pyramids."""
