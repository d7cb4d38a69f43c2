"""Minimal reproduction of Textualize/textual#6666: Footer.compose binds each new FooterKey to the
long-lived Footer with data_bind(compact=...), and the watcher that binding registers is pruned only
when `compact` itself changes; so every recompose (bindings changed) keeps the whole old row alive.

    .venv/bin/python benchmarks/footer_leak.py [--toggles 1000]

prints the live FooterKey count after the toggles, for Textual's Footer and for our KeyFooter
(src/workbench/ui/widgets/key_footer.py, which paints one line in place). When Textual's count
stays flat, the workaround can go.
"""

from __future__ import annotations

import argparse
import asyncio
import gc

import textual
from textual.app import App
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from workbench.ui.widgets.key_footer import KeyFooter


class Toggler(App):
    BINDINGS = [Binding("x", "noop", "Stop", id="stop")]

    def __init__(self, footer_class) -> None:
        super().__init__()
        self.footer_class, self.stop_shown = footer_class, False

    def compose(self):
        yield self.footer_class()

    def check_action(self, action, parameters):  # the Escape of a streaming round: on, then off
        return True if action != "noop" else self.stop_shown


async def live_keys(footer_class, toggles: int) -> int:
    app = Toggler(footer_class)
    async with app.run_test() as pilot:
        for _ in range(toggles):
            app.stop_shown = not app.stop_shown
            app.refresh_bindings()
            await pilot.pause()
        gc.collect()
        return sum(isinstance(o, FooterKey) for o in gc.get_objects())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toggles", type=int, default=1000)
    args = parser.parse_args()
    print(f"textual {textual.__version__}, {args.toggles} binding changes")
    for cls in (Footer, KeyFooter):
        start = asyncio.run(live_keys(cls, 10))
        end = asyncio.run(live_keys(cls, args.toggles))
        print(f"{cls.__name__:10} live FooterKey after 10 changes: {start:6}  after {args.toggles}: {end:6}")


if __name__ == "__main__":
    main()
