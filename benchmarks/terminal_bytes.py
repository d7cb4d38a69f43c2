"""Terminal bytes benchmark: what the TUI writes to its terminal while 4 panes stream (see README.md).

    .venv/bin/python benchmarks/terminal_bytes.py                       # 4 panes × 100 tok/s, 80x24
    .venv/bin/python benchmarks/terminal_bytes.py --size 160x48 --flush-hz 10 --flush-hz 20

This is the cost of the app over a slow link (SSH, a phone): every byte here crosses it. The
real app (`python -m workbench -m bench-0 … -m bench-3`) runs in a pseudo-terminal, against
``stream_server.py`` in its own process. A reader thread drains the pty master all the time (a
full pty would slow the app down and hide its real output rate) and timestamps every read.

For each variant, in a fresh app process:

1. start-up, until the prompt bar's hint has been painted, then a settle period;
2. **idle** (the baseline, measured in the same run): the app open, nothing streaming, for
   ``--idle`` seconds (the input's blinking cursor and any clocks are all that is drawn);
3. the prompt is typed into the pty and Enter pressed: every pane streams ``--tokens`` tokens at
   ``--rate`` tok/s. **streaming** is the steady part, from 1 s after Enter until the server's
   last token is due (tokens / rate); the **round** is from Enter until 3 s after that, to
   include the final renders;
4. Ctrl+Q; the answers in the store must equal what the server sent (else the row says so).

Reported: bytes/s streaming and idle, their ratio, the busiest second, total round bytes per
streamed token, and the amplification: terminal bytes per byte of answer text shown.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stream_bench import write_config  # noqa: E402
from stream_server import DOCS, expected_text, start_server_process  # noqa: E402

PANES = 4
PROMPT = "Explain how to stream answers into a terminal UI, with code."
READY_MARK = b"a prompt, Enter sends"  # the prompt bar's hint: the first frame is on the terminal
WARMUP_S = 1.0  # after Enter: requests, first tokens, panes switching to streaming
TAIL_S = 3.0  # after the last token is due: the final flush and meters
COLORS = {  # what a terminal says about itself; Textual picks its colour system from it
    "16": {"TERM": "xterm", "COLORTERM": ""},
    "256": {"TERM": "xterm-256color", "COLORTERM": ""},
    "truecolor": {"TERM": "xterm-256color", "COLORTERM": "truecolor"},
}


class PtyApp:
    """The app on a pty slave; a thread drains the master and timestamps every read."""

    def __init__(self, command: list[str], env: dict[str, str], size: tuple[int, int], dump: bool = False) -> None:
        master, slave = os.openpty()
        # the size is set before the app starts, so its first frame has it
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.master, self.reads = master, []  # reads: (monotonic time, byte count)
        self.dump: list[tuple[float, bytes]] | None = [] if dump else None  # --dump: the bytes too
        self._head = bytearray()  # output kept until the ready mark is found
        self.ready = threading.Event()
        self.proc = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, preexec_fn=_take_controlling_tty)
        os.close(slave)
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 1 << 16)
            except OSError:  # EIO: the app exited and closed the slave
                return
            if not data:
                return
            self.reads.append((time.monotonic(), len(data)))
            if self.dump is not None:
                self.dump.append((time.monotonic(), data))
            if not self.ready.is_set():
                self._head += data
                if READY_MARK in self._head:
                    self.ready.set()

    def type(self, data: bytes) -> float:
        """Write keys to the app; returns when they were written."""
        os.write(self.master, data)
        return time.monotonic()

    def bytes_between(self, start: float, end: float) -> int:
        """Bytes read from the master in [start, end)."""
        return sum(n for t, n in list(self.reads) if start <= t < end)

    def busiest_second(self, start: float, end: float) -> int:
        """The most bytes in any 1 s bin of [start, end)."""
        bins: dict[int, int] = {}
        for t, n in list(self.reads):
            if start <= t < end:
                bins[int(t - start)] = bins.get(int(t - start), 0) + n
        return max(bins.values(), default=0)

    def close(self) -> None:
        """Quit (Ctrl+Q), then make sure the app is gone."""
        if self.proc.poll() is None:
            try:
                self.type(b"\x11")
                self.proc.wait(15)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self._thread.join(5)
        os.close(self.master)


def _take_controlling_tty() -> None:
    # a terminal app expects its terminal to be the controlling one (as ssh or a terminal gives it)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def measure(args, base_url: str, flush_hz: float | None, expected: list[str]) -> dict:
    """One fresh app: idle window, then one round; bytes and the store check."""
    home = Path(tempfile.mkdtemp(prefix="wb-bytes-"))
    write_config(home, base_url, PANES, flush_hz)
    env = {k: v for k, v in os.environ.items()
           if k not in ("WORKBENCH_CONFIG", "NO_COLOR", "COLORTERM", "SSH_CONNECTION", "SSH_TTY")}
    if args.ssh:  # what sshd sets: the app then draws less often and stops blinking its cursor
        env["SSH_CONNECTION"] = "127.0.0.1 50000 127.0.0.1 22"
    env.update({"WORKBENCH_HOME": str(home), "NO_PROXY": "127.0.0.1,localhost", "LANG": "C.UTF-8",
                "COLUMNS": str(args.size[0]), "LINES": str(args.size[1]), **COLORS[args.colors]})
    env = {k: v for k, v in env.items() if v}
    command = [sys.executable, "-m", "workbench", *(a for i in range(PANES) for a in ("-m", f"bench-{i}"))]
    app = PtyApp(command, env, args.size, dump=bool(args.dump))
    result: dict = {"flush_hz": flush_hz or (8.0 if args.ssh else 20.0), "ssh": args.ssh}
    try:
        if not app.ready.wait(args.guard):
            return {**result, "error": f"the app never painted its prompt bar (exit {app.proc.poll()})"}
        time.sleep(args.settle)
        idle_start = time.monotonic()
        time.sleep(args.idle)
        idle_end = time.monotonic()
        app.type(PROMPT.encode())
        time.sleep(0.5)  # let the typed characters echo before the round's clock starts
        enter = app.type(b"\r")
        last_due = enter + args.tokens / args.rate
        time.sleep(max(0.0, last_due + TAIL_S - time.monotonic()))
        idle_bytes = app.bytes_between(idle_start, idle_end)
        stream_bytes = app.bytes_between(enter + WARMUP_S, last_due)
        round_bytes = app.bytes_between(enter, last_due + TAIL_S)
        idle_bps = idle_bytes / (idle_end - idle_start)
        stream_bps = stream_bytes / (last_due - enter - WARMUP_S)
        shown = sum(len(t.encode()) for t in expected)
        result.update({
            "idle_Bps": round(idle_bps, 1), "stream_Bps": round(stream_bps, 1),
            "ratio": round(stream_bps / idle_bps, 1) if idle_bps else None,
            "peak_1s_B": app.busiest_second(enter, last_due + TAIL_S),
            "round_B": round_bytes, "round_s": round(last_due + TAIL_S - enter, 2),
            "B_per_token": round(round_bytes / (PANES * args.tokens), 1),
            "amplification": round(round_bytes / shown, 2),
            "text_B_per_s": round(shown / (args.tokens / args.rate), 1),
        })
        if args.dump:
            tag = f"{args.dump}-hz{result['flush_hz']:g}"
            for name, (start, end) in {"idle": (idle_start, idle_end), "stream": (enter + WARMUP_S, last_due)}.items():
                Path(f"{tag}-{name}.bin").write_bytes(b"".join(d for t, d in app.dump if start <= t < end))
    finally:
        app.close()
    result["answers_ok"] = _answers_ok(home, expected)
    shutil.rmtree(home, ignore_errors=True)
    return result


def _answers_ok(home: Path, expected: list[str]) -> bool:
    """The round really streamed: every pane's answer is in the store, whole."""
    try:
        db = sqlite3.connect(home / "data" / "workbench.sqlite3")
        rows = dict(db.execute("SELECT model_id, text FROM answers WHERE status = 'ok'").fetchall())
        db.close()
    except sqlite3.Error:
        return False
    return all(rows.get(f"bench-{i}") == text for i, text in enumerate(expected))


def print_table(rows: list[dict]) -> None:
    """The readable summary."""
    head = ["flush_hz", "run", "idle B/s", "stream B/s", "ratio", "peak 1 s B", "B/token", "ampl.", "answers ok"]
    keys = ["flush_hz", "run", "idle_Bps", "stream_Bps", "ratio", "peak_1s_B", "B_per_token", "amplification",
            "answers_ok"]
    body = [[r.get("error", "")[:60] if k == "answers_ok" and r.get("error") else
             ("yes" if r.get(k) is True else "NO" if r.get(k) is False else f"{r.get(k, '-')}") for k in keys]
            for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    for line in [head, *body]:
        print("  ".join(c.rjust(w) for c, w in zip(line, widths)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description="Bytes the workbench TUI writes to its terminal while 4 panes stream.")
    p.add_argument("--tokens", type=int, default=1500, help="tokens per answer (default 1500: 15 s at 100 tok/s)")
    p.add_argument("--rate", type=float, default=100.0, help="tokens/s per pane (default 100)")
    p.add_argument("--doc", choices=DOCS, default="prose", help="prose Markdown, or one long code fence")
    p.add_argument("--size", default="80x24", help="terminal COLSxROWS (default 80x24, the SSH case)")
    p.add_argument("--colors", choices=sorted(COLORS), default="256", help="what the terminal claims (TERM/COLORTERM)")
    p.add_argument("--flush-hz", type=float, action="append",
                   help="[ui] flush_hz to measure (repeat for variants; default: the app's default)")
    p.add_argument("--ssh", action="store_true", help="run the app as if over SSH (SSH_CONNECTION set)")
    p.add_argument("--idle", type=float, default=5.0, help="seconds of the idle baseline (default 5)")
    p.add_argument("--settle", type=float, default=2.0, help="seconds after the first frame before idle starts")
    p.add_argument("--runs", type=int, default=1, help="repeat the set")
    p.add_argument("--guard", type=float, default=120.0, help="give up if the app has not painted after this")
    p.add_argument("--json-out", help="also append the JSON lines to this file")
    p.add_argument("--dump", metavar="PREFIX",
                   help="save the raw idle and streaming output as PREFIX-hzN-idle.bin / -stream.bin (diagnosis)")
    args = p.parse_args(argv)
    args.size = tuple(int(x) for x in args.size.lower().split("x"))
    return args


def main(argv: list[str] | None = None) -> None:
    """Start the server, measure every variant in a fresh app, print JSON lines and a table."""
    args = parse_args(argv)
    server, base_url = start_server_process(args.tokens, args.rate, args.doc, prebuild=PANES)
    expected = [expected_text(args.doc, args.tokens, i) for i in range(PANES)]
    common = {"panes": PANES, "tokens": args.tokens, "rate": args.rate, "doc": args.doc, "colors": args.colors,
              "size": f"{args.size[0]}x{args.size[1]}", "date": time.strftime("%Y-%m-%d %H:%M"),
              "loadavg_1m": round(os.getloadavg()[0], 2)}
    rows: list[dict] = []
    try:
        for run in range(1, args.runs + 1):
            for hz in args.flush_hz or [None]:
                row = {**common, "run": run, **measure(args, base_url, hz, expected)}
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.json_out:
                    with open(args.json_out, "a", encoding="utf-8") as out:
                        out.write(json.dumps(row) + "\n")
    finally:
        server.terminate()
        server.wait(5)
    print(f"\n{PANES} panes × {args.tokens} tokens at {args.rate:g} tok/s each, doc {args.doc}, "
          f"{args.size[0]}x{args.size[1]}, {args.colors} colours; B = bytes written to the terminal")
    print_table(rows)


if __name__ == "__main__":
    main()
