"""Choose the models that take part (1–10), by keyboard: space toggles, Ctrl+S applies."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList
from textual.widgets.selection_list import Selection

from workbench.catalog import format_price, key_status
from workbench.config import Settings
from workbench.domain import ModelInfo
from workbench.routing import ROUTED, ROUTED_ID
from workbench.safety import sanitize
from workbench.ui.screens.pickers import MarkedSelectionList

MAX_MODELS = 10


class ModelPicker(ModalScreen[list[ModelInfo] | None]):
    """A list of every model with its price and key status."""

    BINDINGS = [
        Binding("escape", "dismiss_none", "Cancel", id="picker-cancel"),
        Binding("ctrl+s,enter", "apply", "Apply", id="picker-apply", priority=True),
    ]

    DEFAULT_CSS = """
    ModelPicker { align: center middle; }
    ModelPicker > Vertical {
        width: 90%; max-width: 110; height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    ModelPicker SelectionList { height: 1fr; }
    ModelPicker #picker-help { color: $text-muted; }
    ModelPicker #picker-error { color: $error; }
    """

    def __init__(self, settings: Settings, chosen: list[ModelInfo]) -> None:
        super().__init__()
        self.settings = settings
        self.chosen_ids = [m.id for m in chosen]

    def compose(self):
        selections = []
        for model in self.settings.models.values():
            provider = self.settings.providers[model.provider]
            label = (f"{sanitize(model.name)}{' *' if model.routed else ''}  ·  {model.id}  ·  "
                     f"out {format_price(model.prices.output_per_m)}/M  ·  key {key_status(provider)}")
            selections.append(Selection(label, model.id, model.id in self.chosen_ids))
        policy = self.settings.routing
        selections.append(Selection(
            f"Routed  ·  {ROUTED_ID}  ·  the routing policy picks per prompt: easy → {policy.easy}, "
            f"medium → {policy.medium}, hard → {policy.hard}", ROUTED_ID, ROUTED_ID in self.chosen_ids))
        with Vertical():
            yield Label("Space toggles · Enter or Ctrl+S applies · Esc cancels · up to 10 models", id="picker-help")
            yield MarkedSelectionList(*selections, id="picker-list")
            yield Label("", id="picker-error")

    def on_mount(self) -> None:
        self.query_one(Vertical).border_title = "Models in this round"
        self.query_one(SelectionList).focus()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def action_apply(self) -> None:
        selected = set(self.query_one(SelectionList).selected)
        # keep the previous order for models that stay, then the new ones in catalog order
        order = [i for i in self.chosen_ids if i in selected] + [
            i for i in [*self.settings.models, ROUTED_ID] if i in selected and i not in self.chosen_ids]
        error = self.query_one("#picker-error", Label)
        if not order:
            error.update("Choose at least one model.")
            return
        if len(order) > MAX_MODELS:
            error.update(f"At most {MAX_MODELS} models take part in a round ({len(order)} chosen).")
            return
        self.dismiss([ROUTED if i == ROUTED_ID else self.settings.models[i] for i in order])
