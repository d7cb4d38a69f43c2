"""Start-up benchmark (Q2): the TUI's first full frame in a real terminal, against a bare Textual app.

    .venv/bin/python benchmarks/startup_bench.py                        # 120x40, 7 runs
    .venv/bin/python benchmarks/startup_bench.py --runs 9 --size 120x40 --size 80x24
    .venv/bin/python benchmarks/startup_bench.py --src before=/tmp/wb-before/src   # also an older tree
    .venv/bin/python benchmarks/startup_bench.py --cli                  # also `--help` & co. vs `python -c pass`

Each run starts a fresh process in a new window of a private tmux server (``tmux -L``, its own
socket) of the given size, and reads the screen through one tmux control-mode client
(``capture-pane`` every ``--poll-ms``), so polling forks no process. The clock starts just
before ``new-window``; **first frame** is when the pane shows ``--lines`` non-blank lines with
the bottom line (the footer) drawn, and for the workbench also the prompt's hint (``--mark``).

* ``bare``: ``startup_bare.py``, a Textual app with a header, 30 Statics and a footer: the
  baseline, measured in the same run. ``ratio`` = a variant's median / bare's median.
* ``workbench``: this venv's ``workbench`` entry point, ``WORKBENCH_HOME`` a temporary dir with
  no config (the built-in default models; no key is needed to show them, nothing goes to the
  network). One home per variant, so the store exists after the warm-up run, as for a user.
* ``--src NAME=DIR``: the same entry point with ``PYTHONPATH=DIR``, e.g. an exported older tree
  (``git archive HEAD src | tar -x -C /tmp/wb-before``) to compare before and after in one run.

For the workbench, right after the first frame a key is typed (``send-keys``) and timed
until it shows in the prompt: **echo** is what a quick typist meets while start-up work that
was deferred past the first frame still runs. After ``--settle`` seconds one more key is timed
the same way (**echo idle**, the baseline of the echo, same run, same process). Then Ctrl+Q.

Runs alternate between variants (the order rotates each round), after one warm-up run each
(which also compiles the bytecode: the starts cache it in a temp dir, ``PYTHONPYCACHEPREFIX``,
also when the environment sets ``PYTHONDONTWRITEBYTECODE``; ``--no-pyc`` keeps the environment's
setting, where every start compiles the workbench's own modules from source again).
The machine is shared: read the load average printed with the results, and compare ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BARE = HERE / "startup_bare.py"
# One key each: two quick keys would also time how the app orders keys (ui/key_order.py), not start-up.
ECHO_KEY = "@"  # typed right after the first frame; nowhere on the first screen
IDLE_KEY = "#"


class Tmux:
    """A private tmux server with one detached session of a fixed size, driven through one
    control-mode client (commands and their output over a pipe, no fork per command)."""

    def __init__(self, width: int, height: int, env: dict[str, str]) -> None:
        self.socket = f"wb-startup-{os.getpid()}-{width}x{height}"
        base = ["tmux", "-L", self.socket, "-f", "/dev/null"]
        subprocess.run(base + ["new-session", "-d", "-s", "bench", "-x", str(width), "-y", str(height),
                               "sleep 1000000"], env=env, check=True)
        self._client = subprocess.Popen(base + ["-C", "attach", "-t", "bench"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, bufsize=0)
        self._blocks: queue.Queue[tuple[bool, list[str]]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._blocks.get(timeout=10)  # the attach's own reply
        self.cmd("refresh-client -f no-output")  # no %output notifications: we only poll
        self.cmd("set -g default-terminal screen-256color")
        self.cmd("set -g remain-on-exit off")
        self.socket_path = Path(self.cmd("display -p '#{socket_path}'")[0])

    def _read(self) -> None:
        assert self._client.stdout is not None
        block: list[str] | None = None
        for raw in self._client.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if block is None:
                if line.startswith("%begin"):
                    block = []
                continue  # notifications between replies
            if line.startswith(("%end", "%error")):
                self._blocks.put((line.startswith("%end"), block))
                block = None
            else:
                block.append(line)

    def cmd(self, line: str) -> list[str]:
        """Run one tmux command; its output lines (raises on a tmux error)."""
        assert self._client.stdin is not None
        self._client.stdin.write(line.encode() + b"\n")
        ok, out = self._blocks.get(timeout=10)
        if not ok:
            raise RuntimeError(f"tmux: {line!r}: {' '.join(out)}")
        return out

    def screen(self, pane: str) -> list[str] | None:
        """The pane's visible text, or None once the pane is gone."""
        try:
            return self.cmd(f"capture-pane -p -t {pane}")
        except RuntimeError:
            return None

    def close(self) -> None:
        """Kill the private server (and whatever still runs in it)."""
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], stderr=subprocess.DEVNULL, check=False)
        self._client.wait(timeout=5)
        self.socket_path.unlink(missing_ok=True)  # tmux leaves it behind


def first_frame(lines: list[str], min_lines: int, mark: str | None) -> bool:
    """The whole first frame is on screen: enough non-blank lines, the footer, the mark."""
    if sum(1 for line in lines if line.strip()) < min_lines or not lines or not lines[-1].strip():
        return False
    return mark is None or any(mark in line for line in lines)


def wait_screen(tmux: Tmux, pane: str, done, t0: float, timeout: float, poll: float) -> float | None:
    """Seconds from ``t0`` until ``done(screen)`` holds (polled), None on timeout or if the pane died."""
    while True:
        lines = tmux.screen(pane)
        now = time.perf_counter()
        if lines is None:
            return None
        if done(lines):
            return round(now - t0, 4)
        if now - t0 > timeout:
            return None
        time.sleep(poll)


def run_once(tmux: Tmux, variant: dict, args: argparse.Namespace) -> dict:
    """One start of one variant: first frame, then (workbench) key echo, then quit."""
    env = " ".join(f"-e {shlex.quote(f'{k}={v}')}" for k, v in variant["env"].items())
    t0 = time.perf_counter()
    pane = tmux.cmd(f"new-window -d -P -F '#{{pane_id}}' {env} {shlex.join(variant['argv'])}")[0]
    ready = lambda s: first_frame(s, args.lines, variant["mark"])
    row = {"variant": variant["name"], "first_frame_s": wait_screen(tmux, pane, ready, t0, args.timeout, args.poll)}
    if row["first_frame_s"] is not None and variant["echo"]:
        t_keys = time.perf_counter()
        tmux.cmd(f"send-keys -t {pane} -l {shlex.quote(ECHO_KEY)}")
        row["echo_s"] = wait_screen(tmux, pane, lambda s: any(ECHO_KEY in line for line in s),
                                    t_keys, args.timeout, args.poll)
        time.sleep(args.settle)
        t_key = time.perf_counter()
        tmux.cmd(f"send-keys -t {pane} -l {shlex.quote(IDLE_KEY)}")
        row["echo_idle_s"] = wait_screen(tmux, pane, lambda s: any(ECHO_KEY + IDLE_KEY in line for line in s),
                                         t_key, args.timeout, args.poll)
    if tmux.screen(pane) is not None:
        tmux.cmd(f"send-keys -t {pane} C-q")
        gone = wait_screen(tmux, pane, lambda s: False, time.perf_counter(), 5.0, 0.05)
        if gone is None and tmux.screen(pane) is not None:
            tmux.cmd(f"kill-pane -t {pane}")
    return row


def variants(args: argparse.Namespace, homes: Path) -> list[dict]:
    """What to measure: the bare app, the workbench, and any --src trees."""
    entry = str(Path(sys.executable).with_name("workbench"))
    out = [{"name": "bare", "argv": [sys.executable, str(BARE)], "env": {}, "mark": None, "echo": False}]
    trees = [("workbench", None)] + [tuple(s.split("=", 1)) for s in args.src]
    for name, src in trees:
        home = homes / name
        home.mkdir()
        env = {"WORKBENCH_HOME": str(home)}
        if src:
            env["PYTHONPATH"] = str(Path(src).resolve())
        out.append({"name": name, "argv": [entry], "env": env, "mark": args.mark, "echo": True})
    return out


def _median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value * 1000:.0f}"


def measure_size(size: str, args: argparse.Namespace) -> list[dict]:
    """All runs at one terminal size; prints the table, returns the summary rows."""
    width, height = (int(n) for n in size.split("x"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_") and k not in ("TMUX", "PYTHONPATH")}
    with tempfile.TemporaryDirectory(prefix="wb-startup-") as homes:
        if not args.no_pyc:  # bytecode cached, as for a user; in a temp dir, not in the tree
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(homes) / "pycache")
        tmux = Tmux(width, height, env)
        try:
            todo = variants(args, Path(homes))
            load_before = os.getloadavg()[0]
            for v in todo:
                for _ in range(args.warmup):
                    run_once(tmux, v, args)
            results: dict[str, list[dict]] = {v["name"]: [] for v in todo}
            for i in range(args.runs):
                for v in todo[i % len(todo):] + todo[:i % len(todo)]:
                    time.sleep(args.gap)
                    results[v["name"]].append(run_once(tmux, v, args))
            load_after = os.getloadavg()[0]
        finally:
            tmux.close()
    bare = _median(results["bare"], "first_frame_s")
    summary = []
    for name, rows in results.items():
        frames = [r["first_frame_s"] for r in rows if r["first_frame_s"] is not None]
        first = _median(rows, "first_frame_s")
        summary.append({
            "size": size, "variant": name, "runs": len(rows), "timed_out": len(rows) - len(frames),
            "first_frame_s": first, "min_s": min(frames, default=None), "max_s": max(frames, default=None),
            "ratio": round(first / bare, 3) if first and bare else None,
            "echo_s": _median(rows, "echo_s"), "echo_idle_s": _median(rows, "echo_idle_s"),
            "loadavg_1m": [round(load_before, 2), round(load_after, 2)], "all_runs": rows,
        })
    print(f"\n{size}, median of {args.runs} (load average {load_before:.2f} → {load_after:.2f})")
    print(f"{'variant':14} {'first frame ms':>14} {'range ms':>12} {'ratio':>6} {'echo ms':>8} {'echo idle ms':>12}")
    for s in summary:
        span = f"{_ms(s['min_s'])}–{_ms(s['max_s'])}"
        ratio = "–" if s["ratio"] is None else f"{s['ratio']:.2f}"
        note = f"  {s['timed_out']} timed out" if s["timed_out"] else ""
        print(f"{s['variant']:14} {_ms(s['first_frame_s']):>14} {span:>12} {ratio:>6} "
              f"{_ms(s['echo_s']):>8} {_ms(s['echo_idle_s']):>12}{note}")
    return summary


def cli_ratios(repeat: int, no_pyc: bool) -> list[dict]:
    """`workbench --help` & co. against `python -c pass`: the CLI must not import Textual."""
    entry = str(Path(sys.executable).with_name("workbench"))
    rows = []
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "WORKBENCH_HOME": home}
        env.pop("WORKBENCH_CONFIG", None)
        if not no_pyc:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(home) / "pycache")

        def wall(cmd: list[str]) -> float:
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                times.append(time.perf_counter() - t0)
            return statistics.median(times)

        subprocess.run([entry, "rank"], env=env, capture_output=True, check=False)  # warm-up (bytecode)
        baseline = wall([sys.executable, "-c", "pass"])
        print(f"\nCLI, median of {repeat}, against python -c pass ({baseline * 1000:.0f} ms)")
        for label, cmd in (("workbench --help", ["--help"]), ("workbench ask --help", ["ask", "--help"]),
                           ("workbench models --json", ["models", "--json"]), ("workbench rank", ["rank"])):
            seconds = wall([entry, *cmd])
            rows.append({"what": label, "seconds": round(seconds, 4), "baseline_s": round(baseline, 4),
                         "ratio": round(seconds / baseline, 2)})
            print(f"{label:26} {seconds * 1000:6.0f} ms  ratio {seconds / baseline:5.2f}")
    return rows


def main() -> int:
    """Parse the options, run the measurements, print tables and JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="measured starts per variant and size (default 7)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured starts per variant first (default 1)")
    parser.add_argument("--size", action="append", help="terminal size WxH, repeatable (default 120x40)")
    parser.add_argument("--src", action="append", default=[], metavar="NAME=DIR",
                        help="also run the workbench from source tree DIR (PYTHONPATH), reported as NAME")
    parser.add_argument("--lines", type=int, default=20, help="non-blank lines that make a frame (default 20)")
    parser.add_argument("--mark", default="Enter sends", help="text the workbench's first frame shows")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds before the idle echo (default 2)")
    parser.add_argument("--gap", type=float, default=0.5, help="pause between starts, seconds (default 0.5)")
    parser.add_argument("--poll-ms", type=float, default=3.0, help="screen poll interval (default 3 ms)")
    parser.add_argument("--timeout", type=float, default=15.0, help="give up on a frame after S seconds")
    parser.add_argument("--no-pyc", action="store_true",
                        help="keep the environment's bytecode settings (by default the starts cache bytecode in a "
                             "temp dir, as a user's install does, even under PYTHONDONTWRITEBYTECODE)")
    parser.add_argument("--cli", action="store_true", help="also time the CLI commands against python -c pass")
    parser.add_argument("--json-out", metavar="FILE", help="append the JSON lines to FILE too")
    args = parser.parse_args()
    args.poll = args.poll_ms / 1000
    for spec in args.src:
        if "=" not in spec or not Path(spec.split("=", 1)[1]).is_dir():
            parser.error(f"--src {spec!r}: give NAME=DIR with an existing DIR")
    lines = []
    for size in args.size or ["120x40"]:
        lines += [json.dumps(s) for s in measure_size(size, args)]
    if args.cli:
        lines += [json.dumps(r) for r in cli_ratios(args.runs, args.no_pyc)]
    print()
    print("\n".join(lines))
    if args.json_out:
        with open(args.json_out, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
