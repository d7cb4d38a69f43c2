"""The footer: the keys that matter now, on one line, with Help and Quit always at its right end.

Textual's Footer rebuilds a row of FooterKey widgets whenever the active bindings change, and each
rebuilt key stays bound to the long-lived footer through ``data_bind`` (Textualize/textual#6666):
a day of rounds leaked thousands of widgets (benchmarks/footer_leak.py reproduces it). This footer
is one widget that repaints a line of text in place. At 80 columns it keeps Help and Quit and
drops the keys that do not fit from the end; F1 lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.widget import Widget

#: Binding ids pinned to the right end, in this order.
PINNED = ("show-help", "quit")
#: Cells between two keys.
GAP = 1


@dataclass(frozen=True)
class FooterItem:
    """One key as the footer shows it."""

    key: str  # what simulate_key presses when the item is clicked
    display: str  # the key as shown (f3, ^q)
    description: str
    enabled: bool
    pinned: bool

    @property
    def width(self) -> int:
        """Cells the item takes: key, a space, description."""
        return Text(self.display).cell_len + 1 + Text(self.description).cell_len


def fit_items(items: list[FooterItem], width: int) -> tuple[list[FooterItem], list[FooterItem], int]:
    """The unpinned items that fit in ``width`` beside the pinned ones (in order, stopping at the
    first that does not fit), the pinned ones, and how many were left out."""
    pinned = [item for item in items if item.pinned]
    rest = [item for item in items if not item.pinned]
    room = width - sum(item.width + GAP for item in pinned) - 1  # 1: the '…' that says more exist
    shown: list[FooterItem] = []
    for item in rest:
        if item.width + GAP > room:
            break
        shown.append(item)
        room -= item.width + GAP
    return shown, pinned, len(rest) - len(shown)


class KeyFooter(Widget):
    """One line of keys, repainted in place when the bindings change."""

    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description", "key-footer--disabled"}

    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom; height: 1; width: 1fr; background: $footer-background; color: $footer-foreground;
        .key-footer--key { color: $footer-key-foreground; background: $footer-key-background; text-style: bold; }
        .key-footer--description { color: $footer-description-foreground; background: $footer-description-background; }
        .key-footer--disabled { text-style: dim; }
    }
    """

    def __init__(self) -> None:
        super().__init__(classes="key-footer")
        self.items: list[FooterItem] = []
        self._spans: list[tuple[int, int, str]] = []  # x from, x to, key: what a click presses

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        items = self.collect()
        if items != self.items:
            self.items = items
            self.refresh()

    def collect(self) -> list[FooterItem]:
        """The shown bindings of the focused chain, one per action, in binding order."""
        items: list[FooterItem] = []
        seen: set[str] = set()
        pinned: dict[str, FooterItem] = {}
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            item = FooterItem(binding.key, self.app.get_key_display(binding), binding.description, enabled,
                              binding.id in PINNED)
            if item.pinned:
                pinned[binding.id] = item
            else:
                items.append(item)
        return items + [pinned[i] for i in PINNED if i in pinned]

    def render(self) -> Text:
        shown, pinned, left_out = fit_items(self.items, self.size.width)
        key_style = self.get_component_rich_style("key-footer--key")
        description_style = self.get_component_rich_style("key-footer--description")
        disabled_style = self.get_component_rich_style("key-footer--disabled")
        text = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []

        def add(item: FooterItem, description: str) -> None:
            start = text.cell_len
            style = disabled_style if not item.enabled else None
            text.append(item.display, key_style + style if style else key_style)
            text.append(" " + description, description_style + style if style else description_style)
            self._spans.append((start, text.cell_len, item.key))

        for item in shown:
            add(item, item.description)
            text.append(" " * GAP)
        right_width = sum(item.width + GAP for item in pinned) - GAP if pinned else 0
        if left_out and self.size.width - text.cell_len - right_width >= 2:
            text.append("…", description_style)  # more keys than room: F1 lists them
        pad = self.size.width - text.cell_len - right_width
        if pad > 0:
            text.append(" " * pad)
        for n, item in enumerate(pinned):
            add(item, item.description)
            if n < len(pinned) - 1:
                text.append(" " * GAP)
        self.tooltip = f"{left_out} more key(s): F1 lists every key" if left_out else None
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                self.app.simulate_key(key)
                return
