"""Start-up cost (Q2), as ratios against baselines measured in the same run.

* `workbench --help`, `workbench models` and `workbench ask --help` against `python -c pass`:
  these must not import Textual, so they should cost little more than the interpreter itself.
* The TUI's first frame (headless: the compare screen mounted and painted, three panes) against
  the first frame of a bare Textual app with one Static: what our own start-up adds.

Each command runs REPEAT times in fresh interpreters; the median is reported. Usage:

    python benchmarks/startup_bench.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

FIRST_FRAME_BARE = """
import time, asyncio
t0 = time.perf_counter()
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("hello")
async def main():
    app = Bare()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        print(time.perf_counter() - t0)
asyncio.run(main())
"""

FIRST_FRAME_WORKBENCH = """
import time, asyncio
t0 = time.perf_counter()
from workbench.config import load_settings
from workbench.catalog import resolve_models
from workbench.ui.app import WorkbenchApp
async def main():
    settings = load_settings(None)
    app = WorkbenchApp(settings, resolve_models(settings, list(settings.defaults.models)))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert len(app.screen.grid.panes) == 3
        print(time.perf_counter() - t0)
asyncio.run(main())
"""


def _wall(cmd: list[str], env: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _inner(code: str, env: dict[str, str], repeat: int) -> float:
    # the time the script itself reports (imports + first frame), not interpreter start
    times = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> int:
    """Run the measurements and print a table and JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "WORKBENCH_HOME": home}
        env.pop("WORKBENCH_CONFIG", None)
        py = [sys.executable]
        baseline = _wall(py + ["-c", "pass"], env, args.repeat)
        rows = []
        for label, cmd in (("workbench --help", ["-m", "workbench", "--help"]),
                           ("workbench ask --help", ["-m", "workbench", "ask", "--help"]),
                           ("workbench models", ["-m", "workbench", "models", "--json"])):
            wall = _wall(py + cmd, env, args.repeat)
            rows.append({"what": label, "seconds": round(wall, 3), "baseline": "python -c pass",
                         "baseline_seconds": round(baseline, 3), "ratio": round(wall / baseline, 2)})
        bare = _inner(FIRST_FRAME_BARE, env, args.repeat)
        ours = _inner(FIRST_FRAME_WORKBENCH, env, args.repeat)
        rows.append({"what": "TUI first frame (3 panes)", "seconds": round(ours, 3),
                     "baseline": "bare Textual app first frame", "baseline_seconds": round(bare, 3),
                     "ratio": round(ours / bare, 2)})
    print(f"{'what':28} {'seconds':>8} {'baseline':>9} {'ratio':>6}  baseline is")
    for r in rows:
        print(f"{r['what']:28} {r['seconds']:8.3f} {r['baseline_seconds']:9.3f} {r['ratio']:6.2f}  {r['baseline']}")
    for r in rows:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
