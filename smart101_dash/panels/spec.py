"""The one declared shape of a panel: what it is called, what it needs, what it shows, who may see
each part, and the function that builds it.

A panel module ends with `PANEL = Panel(...)`; `panels/registry.py` lists them once, and the
app's pages, the `tables` command and the tests are all made from that list.

A panel with sections builds only the items it is asked for: its `build` takes `items`, the
keys wanted (None: every item the viewer may see). A page shows one section at a time and asks
for that section's items, so a filter click computes one section, not the whole page; the
print view, the reports and the `tables` command ask for every item.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from smart101_dash.access import AccessDenied, Permission, Viewer
from smart101_dash.config import Settings
from smart101_dash.panels.base import PanelResult


class Kind(StrEnum):
    TABLE = "table"
    FIGURE = "figure"  # a chart, with the rows it draws as its table


class Widget(StrEnum):
    NUMBER = "number"
    INTEGER = "integer"
    CHECKBOX = "checkbox"
    TOGGLE = "toggle"
    RADIO = "radio"
    SELECT = "select"
    SUBJECT = "subject"  # one subject ID (None: none chosen), picked from `subjects`


@dataclass(frozen=True)
class Section:
    """Items shown together: on screen a page with sections shows one at a time, as tabs (a
    filter click then redraws one section, not every chart of the page); the print view, the
    report and the `tables` command show every item. `key` names the section in a link."""

    key: str
    title: str


def wants(items: frozenset[str] | None, *keys: str) -> bool:
    """Whether a build asked for `items` (None: every item) needs any of `keys`."""
    return items is None or any(key in items for key in keys)


@dataclass(frozen=True)
class ItemSpec:
    """One table or chart of a panel; `subject_level` items hold rows about single subjects."""

    key: str
    kind: Kind
    subject_level: bool = False
    section: Section | None = None  # in a panel with sections, every item has one
    needs: tuple[str, ...] = ()  # datasets beyond the panel's own, without which it is empty


@dataclass(frozen=True)
class Option:
    """A page option: drawn as a widget by the page, passed to `build` as the keyword `name`.

    `default(settings)` is the value the `tables` command uses, so an untouched page shows the
    same numbers. `choices(settings)` gives the (label, value) pairs of a radio or select;
    `cut_choices(cut)` instead, when the choices depend on the export (its earlier cuts).
    A SUBJECT option offers `subjects(db, cut, viewer, filters)` (a subject-level read); its value (a
    link may carry any ID) is not checked here: the build says when no such subject exists.
    """

    name: str
    label: str
    widget: Widget
    default: Callable[[Settings], Any]
    choices: Callable[[Settings], tuple[tuple[str, Any], ...]] | None = None
    minimum: float | None = None
    maximum: Callable[[Settings], float] | float | None = None
    step: float | None = None
    help: str = ""
    subject_level: bool = False  # an option that only shows subject-level rows
    cut_choices: Callable[[Any], tuple[tuple[str, Any], ...]] | None = None
    subjects: Callable[[Any, Any, Viewer, Any], tuple[str, ...]] | None = None

    def widget_key(self, panel_key: str) -> str:
        return f"{panel_key}__{self.name}"

    def choices_for(self, settings: Settings, cut: Any = None) -> tuple[tuple[str, Any], ...]:
        if self.cut_choices is not None:
            return self.cut_choices(cut) if cut is not None else ()
        return self.choices(settings) if self.choices else ()

    def upper(self, settings: Settings) -> float | None:
        return self.maximum(settings) if callable(self.maximum) else self.maximum


PanelBuild = Callable[..., PanelResult]


@dataclass(frozen=True)
class Panel:
    key: str  # also the page file pages/<key>.py and the page's URL path
    title: str
    icon: str  # a Material icon, as st.Page takes it
    datasets: tuple[str, ...]  # every dataset it needs; the first missing one is said
    items: tuple[ItemSpec, ...]
    build: PanelBuild  # build(db, cut, filters, settings, *, viewer, [items,] **options)
    options: tuple[Option, ...] = ()

    def item(self, key: str) -> ItemSpec:
        for spec in self.items:
            if spec.key == key:
                return spec
        raise KeyError(f"panel {self.key} declares no item {key!r}")

    def allowed_items(self, viewer: Viewer) -> tuple[ItemSpec, ...]:
        full = viewer.can(Permission.SUBJECT_LEVEL)
        return tuple(s for s in self.items if full or not s.subject_level)

    def sections(self, viewer: Viewer, cut: Any = None) -> tuple[Section, ...]:
        """The sections of the items the viewer may see, in their order (none: one page);
        with `cut`, only those with an item whose datasets the cut can serve."""
        return tuple(dict.fromkeys(
            s.section for s in self.allowed_items(viewer) if s.section and (
                cut is None or all(cut.report.is_usable(d) for d in s.needs))))

    def section(self, key: str, viewer: Viewer) -> Section:
        """The section `key`, among those the viewer may see (ValueError otherwise)."""
        for section in self.sections(viewer):
            if section.key == key:
                return section
        raise ValueError(f"panel {self.key} has no section {key!r} for the role "
                         f"{viewer.role!r}")

    def section_item_keys(self, section: Section, viewer: Viewer) -> frozenset[str]:
        """The keys of the section's items that the viewer may see."""
        return frozenset(s.key for s in self.allowed_items(viewer) if s.section == section)

    @property
    def section_key(self) -> str:
        """The session-state key of the page's open section (its tabs' widget)."""
        return f"{self.key}__section"

    def visible_options(self, viewer: Viewer) -> tuple[Option, ...]:
        full = viewer.can(Permission.SUBJECT_LEVEL)
        return tuple(o for o in self.options if full or not o.subject_level)

    def resolve_options(self, chosen: Mapping[str, Any], settings: Settings,
                        viewer: Viewer, cut: Any = None) -> dict[str, Any]:
        """Every option's value: the chosen one, else its default. A subject-level option
        set away from its default by a viewer without that permission is refused."""
        unknown = set(chosen) - {o.name for o in self.options}
        if unknown:
            raise ValueError(f"panel {self.key} has no option {', '.join(sorted(unknown))}")
        values = {o.name: chosen.get(o.name, o.default(settings)) for o in self.options}
        for option in self.options:
            allowed = [value for _, value in option.choices_for(settings, cut)]
            if allowed and values[option.name] not in allowed:
                raise ValueError(f"{option.label}: {values[option.name]!r} is not one of "
                                 f"{allowed}")
            if option.subject_level and values[option.name] != option.default(settings):
                viewer.require(Permission.SUBJECT_LEVEL, f"the option {option.label!r}")
        return values

    def check_result(self, result: PanelResult, viewer: Viewer,
                     wanted: frozenset[str] | None = None) -> None:
        """Every item built is declared, none is one the viewer may not see, and (`wanted`:
        the items asked for) none was not asked for."""
        allowed = {s.key for s in self.allowed_items(viewer)}
        for item in result.items:
            self.item(item.key)  # KeyError: an undeclared item is a bug in the panel
            if item.key not in allowed:
                raise AccessDenied(f"panel {self.key} built the subject-level item {item.key} "
                                   f"for the role {viewer.role!r}")
            if wanted is not None and item.key not in wanted:
                raise ValueError(f"panel {self.key} built {item.key}, which was not asked "
                                 "for")
