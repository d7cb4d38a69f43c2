"""Themes: the built-in ones ship as TOML files in ``themes/``; users may add their own in
``<config dir>/themes/*.toml``. A broken user theme is reported, never fatal."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from textual.theme import Theme

THEME_FIELDS = {
    "name", "primary", "secondary", "warning", "error", "success", "accent", "foreground",
    "background", "surface", "panel", "boost", "dark", "luminosity_spread", "text_alpha",
    "variables", "ansi",
}


def builtin_theme_dir() -> Path:
    """Where the shipped theme files are: inside the wheel, or the repo's themes/ folder."""
    packaged = resources.files("workbench").joinpath("themes")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "themes"


def theme_from_file(path: Path) -> Theme:
    """Parse one theme file; raises ValueError with a short reason."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path.name}: {exc}") from None
    unknown = set(data) - THEME_FIELDS
    if unknown:
        raise ValueError(f"{path.name}: unknown key {sorted(unknown)[0]!r}")
    if not isinstance(data.get("name"), str) or not isinstance(data.get("primary"), str):
        raise ValueError(f"{path.name}: 'name' and 'primary' are required")
    try:
        return Theme(**data)
    except Exception as exc:  # Textual validates colours lazily; report any rejection
        raise ValueError(f"{path.name}: {exc}") from None


def load_themes(directories: list[Path]) -> tuple[list[Theme], list[str]]:
    """All themes in these directories, and the problems found."""
    themes, problems = [], []
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                themes.append(theme_from_file(path))
            except ValueError as exc:
                problems.append(str(exc))
    return themes, problems
