"""Streaming benchmark: K answers from a real local server into the workbench TUI (see README.md).

    .venv/bin/python benchmarks/stream_bench.py --panes 10 --tokens 4000 --rate 200 --doc prose --widget all

Starts ``stream_server.py`` in its own process, then measures each variant in a fresh interpreter
(so peak RSS is per variant), all against that server: ``baseline`` (a bare httpx reader of the K
streams: what the network alone needs; ``ratio`` divides by its wall time), ``workbench`` (the
real app headless in ``run_test(size=(240, 60))``, round started with ``screen.start_round``;
done when every pane has ended, flushed and been painted; its text and screen are checked) and
``mdstream`` (Textual's ``Markdown`` fed per delta through ``MarkdownStream``, same grid, capped
by ``--timeout``). Each reports wall, ratio, event-loop lag p50/p95/max, CPU s and peak RSS, as
a JSON line, then a table. ``PROFILE=path``, ``--trace`` and ``--patch`` help find the time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_patches import PATCHES, apply_patches  # noqa: E402
from bench_probes import Tracer, count_pane_frames, percentile, process_cpu_s  # noqa: E402
from stream_server import DOCS, expected_text, final_sentence, start_server_process  # noqa: E402

PROMPT = "Explain how to stream several model answers into a terminal UI, with code."
VARIANTS = ("baseline", "workbench", "mdstream")
MIN_PANE_WIDTH = 34  # the workbench's PaneGrid rule, so mdstream panes get the same geometry


# --- measuring (in the child processes) ----------------------------------------------------


def words(text: str) -> str:
    """Word characters only: compares source text with wrapped, styled screen text."""
    return re.sub(r"\W+", "", text)


class Window:
    """The measured window: wall clock, CPU, event-loop lag and (optionally) a profile."""

    def __init__(self, variant: str) -> None:
        self.lags: list[tuple[float, float]] = []  # (when, how late)
        self.profile = None
        target = os.environ.get("PROFILE")
        if target and (variant == "workbench" or "{variant}" in target):
            import cProfile

            self.profile_path = target.replace("{variant}", variant)
            self.profile = cProfile.Profile()

    async def _lag_monitor(self, period: float = 0.05) -> None:
        # how late a task that sleeps 50 ms wakes up: what a key press would wait
        last = time.perf_counter()
        while True:
            await asyncio.sleep(period)
            now = time.perf_counter()
            self.lags.append((now - self.t0, max(0.0, now - last - period)))
            last = now

    def start(self) -> None:
        """Start the clocks, the lag monitor (and the profiler)."""
        self.cpu0, self.t0 = time.process_time(), time.perf_counter()
        self._monitor = asyncio.get_running_loop().create_task(self._lag_monitor())
        if self.profile is not None:
            self.profile.enable()

    def since(self) -> float:
        """Seconds since ``start``."""
        return time.perf_counter() - self.t0
    def stop(self) -> dict:
        """Stop everything; wall, CPU, lag p50/p95/max ms and the worst lag of each second."""
        wall, cpu = time.perf_counter() - self.t0, time.process_time() - self.cpu0
        self._monitor.cancel()
        if self.profile is not None:
            import io
            import pstats

            self.profile.disable()
            self.profile.dump_stats(self.profile_path)
            text = io.StringIO()
            stats = pstats.Stats(self.profile_path, stream=text).strip_dirs()
            for key in ("tottime", "cumulative"):
                stats.sort_stats(key).print_stats(40)
            Path(self.profile_path + ".txt").write_text(text.getvalue(), "utf-8")
        res = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 2)}
        ms = sorted(lag * 1000 for _, lag in self.lags)
        if ms:
            per_s = [0] * (int(self.lags[-1][0]) + 1)
            for at, lag in self.lags:
                per_s[int(at)] = max(per_s[int(at)], round(lag * 1000))
            res.update(lag_p50_ms=round(statistics.median(ms), 1), lag_p95_ms=round(percentile(ms, 95), 1),
                       lag_max_ms=round(ms[-1], 1), lag_samples=len(ms), lag_max_per_s=per_s)
        return res


def emit(result: dict, cleanup: Path | None = None) -> None:
    """Print the child's JSON line and leave at once (an overloaded app may never shut down)."""
    result["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux
    # the machine is shared: record how loaded it was and what share of a core this process got
    result["loadavg_1m"] = round(os.getloadavg()[0], 2)
    if result.get("wall_s"):
        result["cpu_share"] = round(result["cpu_s"] / result["wall_s"], 2)
    print(json.dumps(result), flush=True)
    if cleanup is not None:
        shutil.rmtree(cleanup, ignore_errors=True)
    os._exit(0)


def new_client():
    """An httpx client sized like the app's (no proxies: the server is on 127.0.0.1)."""
    import httpx

    return httpx.AsyncClient(trust_env=False, timeout=httpx.Timeout(10.0, read=300.0),
                             limits=httpx.Limits(max_connections=40, max_keepalive_connections=20))


async def read_sse(client, base_url: str, model: str, on_delta=None) -> str:
    """Read one streamed completion with minimal SSE parsing; ``await on_delta(text)`` per delta."""
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "stream": True,
            "stream_options": {"include_usage": True}, "temperature": 0.2}  # what the app sends
    parts: list[str] = []
    buffer = b""
    async with client.stream("POST", f"{base_url}/chat/completions", json=body,
                             headers={"Accept": "text/event-stream"}) as response:
        response.raise_for_status()
        async for raw in response.aiter_bytes():
            *events, buffer = (buffer + raw).split(b"\n\n")
            for event in events:
                if not event.startswith(b"data: "):
                    continue
                if event[6:] == b"[DONE]":
                    return "".join(parts)
                choices = json.loads(event[6:]).get("choices") or ()
                content = choices[0].get("delta", {}).get("content") if choices else None
                if content:
                    parts.append(content)
                    if on_delta is not None:
                        await on_delta(content)
    return "".join(parts)


async def measure_baseline(args, expected: list[str]) -> None:
    """Bare httpx: wall time until every byte of the K streams has arrived."""
    client = new_client()
    window = Window("baseline")
    window.start()
    texts = await asyncio.gather(*(read_sse(client, args.base_url, f"bench-{i}") for i in range(args.panes)))
    res = window.stop()
    emit({**res, "ended_s": res["wall_s"], "text_ok": list(texts) == expected, "timed_out": False})


def write_config(home: Path, base_url: str, panes: int, flush_hz: float | None, reader: str | None = None) -> Path:
    """config.toml pointing models ``bench-0..K-1`` at the server (a local URL needs no key)."""
    lines = ["[providers.bench]", 'kind = "openai"', f'base_url = "{base_url}"']
    for i in range(panes):
        lines += ["", "[[models]]", f'id = "bench-{i}"', 'provider = "bench"', f'name = "Bench {i}"',
                  f'model = "bench-{i}"', "input_per_m = 0.3", "output_per_m = 1.2"]
    lines += ["", "[ui]"]
    if flush_hz is not None:
        lines += [f"flush_hz = {flush_hz}"]
    if reader is not None:
        lines += [f'stream_reader = "{reader}"']
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


async def measure_workbench(args, expected: list[str]) -> None:
    """The real app, headless: start_round → every pane ended, flushed and painted."""
    home = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    os.environ["WORKBENCH_HOME"] = str(home)
    from workbench.catalog import resolve_models
    from workbench.config import load_settings
    from workbench.ui.app import WorkbenchApp

    tracer = Tracer() if args.trace else None
    settings = load_settings(write_config(home, args.base_url, args.panes, args.flush_hz, args.reader))
    models = resolve_models(settings, [f"bench-{i}" for i in range(args.panes)])
    app = WorkbenchApp(settings, models, store_path=home / "data" / "bench.sqlite3")
    async with app.run_test(size=args.size) as pilot:
        await pilot.pause()
        for _ in range(500):  # the store opens once at start-up: not part of a round
            if app.store is not None:
                break
            await asyncio.sleep(0.01)
        for _ in range(500):  # so is the stream reader process, when there is one
            if app.stream_reader is None or app.stream_reader.running:
                break
            await asyncio.sleep(0.01)
        apply_patches(args.patch)  # after start-up, so "gc" freezes the app's own objects too
        frames = count_pane_frames()
        screen, window = app.screen, Window("workbench")
        panes = screen.grid.panes
        reader_pid = app.stream_reader.process.pid if app.stream_reader is not None else None
        reader_cpu0 = process_cpu_s(reader_pid)
        window.start()
        if tracer is not None:
            tracer.t0 = window.t0
        await screen.start_round(PROMPT)
        timed_out, ended = False, None
        while True:  # a 5 ms poll: well under 0.1% of the shortest ideal time
            if all(not p.is_streaming and not p.view.has_pending for p in panes):
                ended = window.since()
                break
            if window.since() > args.timeout:
                timed_out = True
                break
            await asyncio.sleep(0.005)
        if not timed_out:  # "shown" means painted: the screen has refreshed after the last render
            await asyncio.wait_for(asyncio.gather(*(p.view.wait_for_refresh() for p in panes)), 30)
        res = window.stop()
        if reader_pid is not None:  # the reader's CPU is the app's too: the table adds it
            res["reader_cpu_s"] = round(process_cpu_s(reader_pid) - reader_cpu0, 2)
        # how often each pane was drawn: an app that falls behind draws less, which lowers its CPU
        res["pane_fps"] = round(frames[0] / max(1, args.panes) / res["wall_s"], 1)
        emit({**res, "reader": "process" if reader_pid else "inline", "ended_s": ended and round(ended, 3), "timed_out": timed_out,
              "text_ok": all(p.result is not None and p.result.text == exp for p, exp in zip(panes, expected)),
              "screen_ok": all(words(p.view.rendered_text()).endswith(words(final_sentence(i, args.tokens)))
                               for i, p in enumerate(panes)),
              "statuses": sorted({p.status for p in panes}),
              "blocks": sum(len(p.view.answer.splitter.finished) for p in panes),
              "lines": sum(p.view.answer.line_count for p in panes), "patches": args.patch,
              "flush_hz": app.settings.ui.frames_per_second(), "counting": app.token_counter.method,
              **({"trace": tracer.summary(ended)} if tracer else {})}, cleanup=home)


async def measure_mdstream(args, expected: list[str]) -> None:
    """Textual's Markdown + MarkdownStream, one write per delta, K panes in the same grid."""
    from textual.app import App
    from textual.containers import Container, VerticalScroll
    from textual.widgets import Markdown

    columns = max(1, min(args.panes, args.size[0] // MIN_PANE_WIDTH))

    class MdApp(App):
        CSS = f"""
        #grid {{ layout: grid; grid-size: {columns} {math.ceil(args.panes / columns)}; height: 1fr; }}
        .pane {{ border: round $primary; height: 1fr; width: 1fr; }}
        """

        def compose(self):
            with Container(id="grid"):
                for i in range(args.panes):
                    with VerticalScroll(classes="pane"):
                        yield Markdown(id=f"md{i}")

        def on_mount(self) -> None:
            for scroll in self.query(VerticalScroll):
                scroll.anchor()  # follow the end, as a chat pane does

    app = MdApp()
    async with app.run_test(size=args.size) as pilot:
        await pilot.pause()
        mds = [app.query_one(f"#md{i}", Markdown) for i in range(args.panes)]
        streams = [Markdown.get_stream(md) for md in mds]
        client, received, done_reading = new_client(), [0] * args.panes, []
        window = Window("mdstream")

        async def pane(i: int) -> None:
            async def write(delta: str) -> None:
                received[i] += len(delta)
                await streams[i].write(delta)

            await read_sse(client, args.base_url, f"bench-{i}", write)
            done_reading.append(window.since())
            await streams[i].stop()

        def last_block(md: Markdown) -> str:
            content = getattr(md.children[-1], "_content", None) if md.children else None
            return getattr(content, "plain", "") or ""

        def shown() -> bool:
            return all(words(last_block(md)).endswith(words(final_sentence(i, args.tokens)))
                       for i, md in enumerate(mds))

        async def run() -> None:
            await asyncio.gather(*(pane(i) for i in range(args.panes)))
            while not shown():  # the last append's blocks may still be mounting
                await asyncio.sleep(0.005)
            await asyncio.gather(*(md.wait_for_refresh() for md in mds))

        window.start()
        try:
            await asyncio.wait_for(run(), args.timeout)
            timed_out = False
        except TimeoutError:
            timed_out = True
        res = window.stop()
        total = sum(map(len, expected))
        emit({**res, "ended_s": round(max(done_reading), 3) if len(done_reading) == args.panes else None,
              "timed_out": timed_out, "text_ok": [md.source for md in mds] == expected,
              "screen_ok": shown(), "received_frac": round(sum(received) / total, 3),
              "shown_frac": round(sum(len(md.source) for md in mds) / total, 3),
              "blocks": sum(len(md.children) for md in mds)})


# --- the parent: server, children, table ----------------------------------------------------


def run_child(variant: str, args) -> dict:
    """Measure one variant in a fresh interpreter; its JSON result, or an error record."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", variant, "--base-url", args.base_url,
           "--panes", str(args.panes), "--tokens", str(args.tokens), "--rate", str(args.rate),
           "--doc", args.doc, "--size", f"{args.size[0]}x{args.size[1]}", "--timeout", str(args.timeout)]
    if args.flush_hz is not None:
        cmd += ["--flush-hz", str(args.flush_hz)]
    if args.reader is not None:
        cmd += ["--reader", args.reader]
    cmd += ["--trace"] * args.trace + [arg for name in args.patch for arg in ("--patch", name)]
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout + 120, env=env)
    except subprocess.TimeoutExpired:
        return {"error": "the measuring process hung and was killed"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-800:]}"}
    return json.loads(lines[-1])


def _cell(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def print_table(rows: list[dict]) -> None:
    """The readable summary; with several runs, a median row per variant follows."""
    keys = [("wall_s", 2), ("ideal_s", 2), ("ratio", 3), ("lag_p50_ms", 1), ("lag_p95_ms", 1),
            ("lag_max_ms", 1), ("cpu_s", 2), ("reader_cpu_s", 2), ("pane_fps", 1), ("rss_mb", 1)]
    head = ["variant", "run", "wall s", "ideal s", "ratio", "lag p50", "lag p95", "lag max", "CPU s",
            "reader CPU s", "pane fps", "RSS MB", "text ok", "screen ok", "note"]
    body = []
    for r in rows:
        note = ("TIMED OUT" + (f" (shown {r['shown_frac']:.0%})" if r.get("shown_frac") is not None else "")
                if r.get("timed_out") else r.get("error", ""))
        body.append([r["variant"], str(r["run"]), *(_cell(r.get(k), d) for k, d in keys),
                     _cell(r.get("text_ok")), _cell(r.get("screen_ok")), note[:60]])
    runs = {r["run"] for r in rows}
    for variant in dict.fromkeys(r["variant"] for r in rows) if len(runs) > 1 else ():
        same = [r for r in rows if r["variant"] == variant and r.get("wall_s") is not None]
        if same:
            median = [_cell(float(statistics.median(r.get(k) or 0 for r in same)), d) for k, d in keys]
            timeouts = sum(bool(r.get("timed_out")) for r in same)
            body.append([variant, "median", *median, "", "", f"{timeouts}/{len(same)} timed out" if timeouts else ""])
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    for line in [head, *body]:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description="Streaming benchmark for the workbench TUI.")
    p.add_argument("--panes", type=int, default=10, help="K parallel streams / panes")
    p.add_argument("--tokens", type=int, default=4000, help="N tokens per answer")
    p.add_argument("--rate", type=float, default=200.0, help="R tokens/s per stream")
    p.add_argument("--doc", choices=DOCS, default="prose", help="prose Markdown, or one long code fence")
    p.add_argument("--widget", choices=("workbench", "mdstream", "all"), default="workbench",
                   help="what to measure besides the bare-httpx baseline")
    p.add_argument("--runs", type=int, default=1, help="repeat the whole set")
    p.add_argument("--size", default="240x60", help="terminal COLSxROWS")
    p.add_argument("--flush-hz", type=float, default=None, help="override [ui] flush_hz (app default 20)")
    p.add_argument("--reader", choices=("process", "inline"), default=None,
                   help="override [ui] stream_reader (app default: auto, a process on 2+ cores)")
    p.add_argument("--timeout", type=float, default=None, help="cap per UI measurement (3 × ideal + 30 s)")
    p.add_argument("--tick-ms", type=float, default=5.0, help="server pacing tick")
    p.add_argument("--trace", action="store_true", help="time flush/render/layout/paint/GC in the workbench")
    p.add_argument("--patch", action="append", choices=PATCHES, default=[],
                   help="what-if: measure the workbench with a proposed fix monkeypatched in (repeatable)")
    p.add_argument("--json-out", help="also append the JSON lines to this file")
    p.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    p.add_argument("--base-url", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.size = tuple(int(x) for x in args.size.lower().split("x"))
    args.ideal = args.tokens / args.rate
    if args.timeout is None:
        args.timeout = 3 * args.ideal + 30
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the set (or, with --child, one measurement)."""
    args = parse_args(argv)
    if args.child:
        expected = [expected_text(args.doc, args.tokens, i) for i in range(args.panes)]
        measure = {"baseline": measure_baseline, "workbench": measure_workbench, "mdstream": measure_mdstream}
        asyncio.run(measure[args.child](args, expected))
        return
    variants = ["baseline", *(["workbench", "mdstream"] if args.widget == "all" else [args.widget])]
    server, args.base_url = start_server_process(args.tokens, args.rate, args.doc, tick_ms=args.tick_ms,
                                                 prebuild=args.panes)
    common = {"panes": args.panes, "tokens": args.tokens, "rate": args.rate, "doc": args.doc,
              "size": f"{args.size[0]}x{args.size[1]}", "ideal_s": round(args.ideal, 3),
              "date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count()}
    rows: list[dict] = []
    out = open(args.json_out, "a", encoding="utf-8") if args.json_out else None
    try:
        for run in range(1, args.runs + 1):
            baseline = None
            for variant in variants:
                extras = [*args.patch, *([f"{args.reader}-reader"] if args.reader else [])]
                label = "+".join([variant, *extras]) if variant == "workbench" else variant
                res = {"variant": label, "run": run, **common, **run_child(variant, args)}
                baseline = res.get("wall_s") if variant == "baseline" else baseline
                if baseline and res.get("wall_s") is not None:
                    res["ratio"] = round(res["wall_s"] / baseline, 3)
                rows.append(res)
                print(json.dumps(res), flush=True)
                if out:
                    out.write(json.dumps(res) + "\n")
                    out.flush()
    finally:
        server.terminate()
        server.wait(5)
        if out:
            out.close()
    print(f"\n{args.panes} pane(s) × {args.tokens} tokens at {args.rate:g} tok/s, doc {args.doc}, "
          f"{args.size[0]}x{args.size[1]}; ideal {args.ideal:.2f} s; lag in ms")
    print_table(rows)


if __name__ == "__main__":
    main()
