"""The dashboard's files ship in the package: a file type the package data leaves out would
work from a checkout and vanish from an installed wheel."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from apiserver import ui

ROOT = Path(__file__).resolve().parents[2]
STATIC = Path(ui.__file__).parent / "static"


def _package_globs() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["setuptools"]["package-data"]["apiserver.ui"]


def test_every_static_file_is_package_data_of_a_served_type() -> None:
    files = sorted(p.relative_to(STATIC.parent).as_posix() for p in STATIC.iterdir() if p.is_file())
    assert "static/index.html" in files
    globs = _package_globs()
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in globs), f"{name} is not package data"
        assert ui.asset(Path(name).name) is not None, f"{name} is not served"


def test_every_served_type_is_package_data() -> None:
    globs = _package_globs()
    for suffix in ui.MEDIA_TYPES:
        assert f"static/*{suffix}" in globs, f"{suffix} files would be served but not shipped"
