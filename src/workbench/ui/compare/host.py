"""What the compare screen's helpers (scoring, the suite driver, the answer tools) may use of the
screen: a small Protocol, so that they do not import the screen that imports them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from workbench.domain import ChatRequest, ModelInfo

if TYPE_CHECKING:
    from textual.app import App
    from textual.notifications import SeverityLevel

    from workbench.ui.screens.options import RoundOptions
    from workbench.ui.services import Services
    from workbench.ui.widgets.pane_grid import PaneGrid


@dataclass(frozen=True)
class RunSpec:
    """How a round belongs to a suite session (what its run records, and which panes ask)."""

    task: str
    suite: str
    kind: str | None
    session_id: int
    repeat: int
    blind: bool
    run_id: int | None  # a step begun before (a resumed session): its answers so far are kept
    only: frozenset[str]  # the model ids still to ask


class CompareHost(Protocol):
    """The compare screen, as its helpers see it."""

    grid: PaneGrid
    models: list[ModelInfo]
    options: RoundOptions
    services: Services

    @property
    def app(self) -> App: ...

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None: ...

    async def cancel_all(self) -> None: ...

    async def start_round(self, prompt: str, spec: RunSpec | None = None) -> None: ...

    def adopt_run(self, run_id: int, models: list[ModelInfo], request: ChatRequest) -> None: ...

    def update_session_bar(self) -> None: ...

    def show_leaderboard_for_suite(self, suite_id: str) -> None: ...
