"""An export folder holds one data cut, or several: one sub-folder per cut, named by its
cut-off date (`2026-06-30/`, `2026-10-31/`).

A folder with at least one such sub-folder is a folder of cuts; files beside the dated
sub-folders are not read. Any other folder is one cut, as before. The newest cut is the one
shown unless another is chosen (docs/data-contract.md, "Several cuts").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from smart101_dash.export_files import resolved

CUT_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class CutFolder:
    label: str  # the sub-folder's name (its cut-off date), or the folder's own name
    path: Path
    cutoff: date | None  # from the name; None for a folder that is itself the one cut


def cut_date(name: str) -> date | None:
    match = CUT_NAME.match(name)
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:  # 2026-02-30 is not a date: not a cut folder
        return None


def find_cuts(export_dir: Path | str) -> list[CutFolder]:
    """The cuts of an export folder, oldest first (one: the folder itself)."""
    root = resolved(export_dir)
    cuts = []
    try:
        children = list(root.iterdir()) if root.is_dir() else []
    except OSError:
        children = []  # the validation of the folder itself says why it cannot be read
    for child in children:
        when = cut_date(child.name)
        if when is not None and child.is_dir():
            cuts.append(CutFolder(child.name, child, when))
    if not cuts:
        return [CutFolder(root.name, root, None)]
    return sorted(cuts, key=lambda c: c.cutoff)  # type: ignore[arg-type, return-value]


def newest_cut(export_dir: Path | str) -> Path:
    """The folder of the newest cut (the folder itself when it holds one cut)."""
    return find_cuts(export_dir)[-1].path


def sibling_cuts(cut_dir: Path | str) -> list[CutFolder]:
    """The cuts beside `cut_dir` in its folder of cuts, oldest first (just itself when the
    cut is not one of several)."""
    path = resolved(cut_dir)
    if cut_date(path.name) is not None:
        cuts = find_cuts(path.parent)
        if any(c.path == path for c in cuts):
            return cuts
    return [CutFolder(path.name, path, None)]


def earlier_cut(cut_dir: Path | str) -> CutFolder | None:
    """The cut before `cut_dir` in its folder of cuts (None: it is the first or the only)."""
    cuts = sibling_cuts(cut_dir)
    path = resolved(cut_dir)
    index = next(i for i, c in enumerate(cuts) if c.path == path)
    return cuts[index - 1] if index > 0 else None
