"""Soak: the real app, headless, for hundreds of rounds; does its memory stay flat?

    .venv/bin/python benchmarks/soak.py                       # both variants, 500 rounds each
    .venv/bin/python benchmarks/soak.py --variant code --rounds 200 --every 50

Each variant runs in a fresh interpreter: ``stream_server.py`` in its own process, the app in
``run_test`` with three panes reading through the stream reader process (``[ui] stream_reader =
"process"``), one round after another as a person scoring all day would do them (send, wait
for every pane, focus a pane and score it, back to the prompt). Every ``--every`` rounds it
prints the resident memory of the app and of the reader process (from /proc) and the object
types that grew most since the first sample. The target of the long-session issue: resident
memory after round 100 and after round 500 within 10 MB, for the app and the reader alike.

Variants: ``short`` (answers of ~30 tokens of prose) and ``code`` (one long Python fence of
3,000 tokens, about 15 kB, per answer).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from stream_server import start_server_process  # noqa: E402

VARIANTS = {"short": {"tokens": 30, "rate": 3000.0, "doc": "prose"},
            "code": {"tokens": 3000, "rate": 30000.0, "doc": "fence"}}
PANES = 3


def rss_mb(pid: int | str = "self") -> float | None:
    """Resident memory of a process in MB (Linux /proc), None when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def object_counts() -> Counter:
    gc.collect()
    return Counter(type(o).__name__ for o in gc.get_objects())


def write_config(home: Path, base_url: str) -> Path:
    lines = ["[providers.bench]", 'kind = "openai"', f'base_url = "{base_url}"']
    for i in range(PANES):
        lines += ["", "[[models]]", f'id = "bench-{i}"', 'provider = "bench"', f'name = "Bench {i}"',
                  f'model = "bench-{i}"', "input_per_m = 0.3", "output_per_m = 1.2"]
    lines += ["", "[ui]", 'stream_reader = "process"']
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


async def soak(base_url: str, rounds: int, every: int) -> list[dict]:
    home = Path(tempfile.mkdtemp(prefix="wb-soak-"))
    os.environ["WORKBENCH_HOME"] = str(home)
    from workbench.catalog import resolve_models
    from workbench.config import load_settings
    from workbench.ui.app import WorkbenchApp
    from workbench.ui.screens.score_entry import ScoreScreen

    settings = load_settings(write_config(home, base_url))
    app = WorkbenchApp(settings, resolve_models(settings, [f"bench-{i}" for i in range(PANES)]),
                       store_path=home / "data" / "soak.sqlite3")
    samples: list[dict] = []
    first: Counter | None = None
    async with app.run_test(size=(160, 48)) as pilot:
        while app.store is None or (app.stream_reader is not None and not app.stream_reader.running):
            await asyncio.sleep(0.01)
        reader_pid = app.stream_reader.process.pid if app.stream_reader is not None else None
        screen = app.screen
        started = time.monotonic()
        for n in range(1, rounds + 1):
            await screen.start_round(f"Round {n}: write a function")
            while any(p.is_streaming or p.view.has_pending for p in screen.grid.panes):
                await asyncio.sleep(0.005)
            await pilot.press("alt+right", "s")  # score the first pane, as a scoring session does
            while not isinstance(app.screen, ScoreScreen):
                await asyncio.sleep(0.005)
            await pilot.press("8", "enter", "escape")
            while isinstance(app.screen, ScoreScreen):
                await asyncio.sleep(0.005)
            if n % every == 0 or n == 1:
                counts = object_counts()
                first = first or counts
                grown = sorted(((k, v - first.get(k, 0)) for k, v in counts.items()), key=lambda kv: -kv[1])[:6]
                sample = {"round": n, "app_mb": rss_mb(), "reader_mb": rss_mb(reader_pid) if reader_pid else None,
                          "objects": sum(counts.values()), "grown": [g for g in grown if g[1] > 0],
                          "s_per_round": round((time.monotonic() - started) / n, 3)}
                samples.append(sample)
                print(json.dumps(sample), flush=True)
    return samples


def run_variant(variant: str, rounds: int, every: int) -> list[dict]:
    """One variant in a fresh interpreter; returns its samples."""
    cmd = [sys.executable, __file__, "--child", variant, "--rounds", str(rounds), "--every", str(every)]
    samples = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        for line in proc.stdout:
            if line.startswith("{"):
                samples.append(json.loads(line))
                s = samples[-1]
                print(f"  {variant:5} round {s['round']:4}: app {s['app_mb']:7.1f} MB  reader "
                      f"{s['reader_mb'] or 0:7.1f} MB  objects {s['objects']:8,}  {s['s_per_round']} s/round",
                      flush=True)
    return samples


def table(results: dict[str, list[dict]], every: int) -> None:
    print("\n| variant | round | app RSS (MB) | reader RSS (MB) | app Δ since round "
          f"{every} | reader Δ | most grown objects since round 1 |")
    print("|---|---|---|---|---|---|---|")
    for variant, samples in results.items():
        base = next((s for s in samples if s["round"] == every), samples[0])
        for s in samples:
            d_app = s["app_mb"] - base["app_mb"]
            d_reader = (s["reader_mb"] or 0) - (base["reader_mb"] or 0)
            grown = ", ".join(f"{k} +{v}" for k, v in s["grown"][:3]) or "–"
            print(f"| {variant} | {s['round']} | {s['app_mb']:.1f} | {s['reader_mb'] or 0:.1f} | "
                  f"{d_app:+.1f} | {d_reader:+.1f} | {grown} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=[*VARIANTS, "all"], default="all")
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--child", choices=list(VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        spec = VARIANTS[args.child]
        server, base_url = start_server_process(spec["tokens"], spec["rate"], spec["doc"], prebuild=PANES)
        try:
            asyncio.run(soak(base_url, args.rounds, args.every))
        finally:
            server.kill()
        return
    variants = list(VARIANTS) if args.variant == "all" else [args.variant]
    results = {}
    for variant in variants:
        print(f"{variant}: {args.rounds} rounds of {PANES} panes …", flush=True)
        results[variant] = run_variant(variant, args.rounds, args.every)
    table(results, args.every)


if __name__ == "__main__":
    main()
