"""The package's top-level names resolve to the modules that define them."""

import importlib

import pytest

import data_helpers


@pytest.mark.parametrize("name", data_helpers.__all__)
def test_every_export_resolves(name):
    value = getattr(data_helpers, name)
    module = importlib.import_module(f"data_helpers.{data_helpers._EXPORTS[name]}")
    assert value is getattr(module, name)
    assert name in module.__all__


def test_unknown_name_raises():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        data_helpers.nope  # noqa: B018


@pytest.mark.parametrize(
    "module",
    ["sample_data", "downsample", "chunking", "ome", "camera", "writer", "pyramid",
     "multiscale", "serve", "tiles", "labels", "plotting", "inspect", "convert"],
)
def test_modules_declare_their_public_api(module):
    imported = importlib.import_module(f"data_helpers.{module}")
    assert imported.__all__, module
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.__all__ lists {name}, which is missing"
