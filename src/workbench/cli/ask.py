"""`workbench ask` (I4): the same fan-out as the app, without Textual.

A live Rich view on a terminal, plain text when piped, one JSON object with --json. Every
answer is saved in the store; its id is in the output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import sys
from typing import Any

from workbench.catalog import UnknownModelError
from workbench.cli.common import UsageError, prompt_from
from workbench.code_blocks import code_only
from workbench.config import Settings
from workbench.domain import AnswerStatus, ChatRequest, RunRecord, cut_off_label
from workbench.paths import store_file
from workbench.providers.events import StreamEvent, TextDelta
from workbench.providers.http import make_client
from workbench.render.meter_text import meter_line
from workbench.rounds import RoundRecorder, StoreAccess
from workbench.routing import RoutingError, is_routed, resolve_with_routed, route
from workbench.runner import AnswerResult, new_result, stream_answer
from workbench.safety import StreamSanitizer, sanitize
from workbench.store import open_store
from workbench.tokens import TokenCounter


def run_ask(settings: Settings, args: argparse.Namespace) -> int:
    """Run the ask command; returns the exit code."""
    prompt = prompt_from(args.prompt)
    try:
        models = resolve_with_routed(settings, args.models or list(settings.defaults.models))
        for i, model in enumerate(models):
            if is_routed(model):
                decision = route(prompt, settings.routing, settings.models)
                print(f"routed: {decision.reason}", file=sys.stderr)
                models[i] = decision.model
    except (UnknownModelError, RoutingError) as exc:
        raise UsageError(str(exc)) from None
    if args.temperature is not None and not 0 <= args.temperature <= 2:
        raise UsageError("--temperature must be between 0 and 2")
    if args.max_tokens is not None and args.max_tokens <= 0:
        raise UsageError("--max-tokens must be a positive whole number")
    request = ChatRequest(
        prompt=prompt,
        system=args.system if args.system is not None else settings.defaults.system,
        temperature=args.temperature if args.temperature is not None else settings.defaults.temperature,
        max_tokens=args.max_tokens if args.max_tokens is not None else settings.defaults.max_tokens,
    )
    if args.json and getattr(args, "code_only", False):
        raise UsageError("--json and -x do not go together (the JSON has each answer's whole text)")
    if getattr(args, "code_only", False):
        mode = "code"  # nothing printed while streaming; the code at the end
    else:
        mode = "json" if args.json else ("live" if sys.stdout.isatty() else "plain")
    counter = TokenCounter()
    counter.load()
    results = [new_result(m, settings.providers[m.provider], request, counter) for m in models]
    access = StoreAccess(store=open_store(store_file()))  # opened here: a bad store is one line, exit 2
    recorder = RoundRecorder(access)
    run = RunRecord(prompt=request.prompt, system=request.system,
                    params={"temperature": request.temperature, "max_tokens": request.max_tokens},
                    task=args.task, source="ask")
    try:
        try:
            asyncio.run(_ask(recorder, run, results, mode, args.timeout))
        except KeyboardInterrupt:
            pass
        recorder.finish_unfinished()  # what Ctrl+C cut short, saved as cancelled
    finally:
        access.close()
    run_id = recorder.run_id
    if mode == "json":
        print(json_for_terminal({"run_id": run_id, "results": [result_json(r) for r in results]}))
    elif mode == "code":
        _print_code(results)
    elif mode == "plain" and len(results) > 1:
        pass  # printed as each finished
    else:
        _print_final(results, mode)
    return 0 if all(r.status == AnswerStatus.OK for r in results) else 1


async def _ask(recorder: RoundRecorder, run: RunRecord, results: list[AnswerResult], mode: str,
               timeout: float | None) -> None:
    await recorder.open_run(run)
    for r in results:
        await recorder.start(r)
    try:
        await _stream_all(results, recorder, mode, timeout)
    finally:
        await recorder.aclose()


async def _stream_all(results: list[AnswerResult], recorder: RoundRecorder, mode: str, timeout: float | None) -> None:
    async with make_client(len(results)) as client:
        clean = StreamSanitizer()
        one_plain = mode == "plain" and len(results) == 1

        def sink(event: StreamEvent) -> None:
            if one_plain and isinstance(event, TextDelta):
                sys.stdout.write(clean.feed(event.text))
                sys.stdout.flush()

        async def one(result: AnswerResult) -> None:
            await stream_answer(client, result, sink, deadline_s=timeout)
            await recorder.finish(result)
            if one_plain:
                sys.stdout.write(clean.flush())
            if mode == "plain" and len(results) > 1:
                _print_plain(result)

        tasks = [asyncio.create_task(one(r)) for r in results]
        if mode == "live":
            await _live_view(results, tasks)
        else:
            await asyncio.gather(*tasks, return_exceptions=True)


async def _live_view(results: list[AnswerResult], tasks: list[asyncio.Task]) -> None:
    # Rich's live view only on a terminal: `ask --json` and piped output start without it (Q2)
    from rich.live import Live

    from workbench.render.ask_view import render_live

    with Live(render_live(results), refresh_per_second=8, transient=True, redirect_stdout=False) as live:
        while not all(t.done() for t in tasks):
            await asyncio.sleep(0.125)
            live.update(render_live(results))
    await asyncio.gather(*tasks, return_exceptions=True)


def _print_plain(result: AnswerResult) -> None:
    out = sys.stdout
    out.write(f"=== {result.model.name} ({result.model.id}) — {meter_line(result)}\n")
    if result.error is not None:
        out.write(f"[{result.status.value}] {sanitize(result.error.message)}\n")
    out.write(sanitize(result.text).rstrip("\n") + "\n")
    note = cut_off_note(result)
    if note:  # under the text, where the reader sees it stop
        out.write(f"[{note}]\n")
    out.write("\n")
    out.flush()


def cut_off_note(result: AnswerResult) -> str | None:
    """For an answer that ended ``ok`` at a limit, what to say under it: a cut answer must not
    look complete (its status stays ``ok``, I4); None for any other answer."""
    label = cut_off_label(result.stop_reason)
    if label is None:
        return None
    return f"{label}; raise --max-tokens for the rest" if result.stop_reason == "length" else label


def json_for_terminal(data: Any) -> str:
    """JSON with non-ASCII text kept readable, but C1 controls (U+0080–U+009F, which some
    terminals obey like ESC sequences) escaped: json.dumps leaves them raw with ensure_ascii=False.

    Never ``Infinity`` or ``NaN``, which are not JSON (a script's parser rejects the whole
    object): such a number, should one get past the price checks, is printed as null and named
    in a note on stderr."""
    notes: list[str] = []
    text = json.dumps(_finite(data, "", notes), ensure_ascii=False, indent=2, allow_nan=False)
    for where in notes:
        print(f"workbench: note: {where} was not a finite number; printed as null", file=sys.stderr)
    return re.sub(r"[\x80-\x9f\u2028\u2029]", lambda m: f"\\u{ord(m.group()):04x}", text)


def _finite(value: Any, where: str, notes: list[str]) -> Any:
    """``value`` with every non-finite float replaced by None (each one's path in ``notes``)."""
    if isinstance(value, float) and not math.isfinite(value):
        notes.append(where or "a value")
        return None
    if isinstance(value, dict):
        return {k: _finite(v, f"{where}.{k}" if where else str(k), notes) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v, f"{where}[{i}]", notes) for i, v in enumerate(value)]
    return value


def _print_code(results: list[AnswerResult]) -> None:
    """`ask -x`: the code blocks only; failures and empty answers are said on stderr."""
    for r in results:
        code = code_only(r.text)
        if r.error is not None:
            print(f"{r.model.id}: [{r.status.value}] {sanitize(r.error.message)}", file=sys.stderr)
        note = cut_off_note(r)
        if note:
            print(f"{r.model.id}: {note} (the code may be incomplete)", file=sys.stderr)
        if not code:
            print(f"{r.model.id}: no code block in the answer (answer id {r.answer_id})", file=sys.stderr)
            continue
        if len(results) > 1:
            sys.stdout.write(f"# {r.model.id}\n")
        sys.stdout.write(sanitize(code))
    sys.stdout.flush()


def _print_final(results: list[AnswerResult], mode: str) -> None:
    if mode == "plain":  # one model, text already streamed
        r = results[0]
        sys.stdout.write("\n")
        if r.error is not None:
            print(f"[{r.status.value}] {sanitize(r.error.message)}", file=sys.stderr)
        note = cut_off_note(r)
        if note:  # stderr, as the meter: stdout stays the answer's text alone
            print(f"[{note}]", file=sys.stderr)
        print(f"-- {meter_line(r)} (answer id {r.answer_id})", file=sys.stderr)
        return
    from rich.console import Console  # as for the live view
    from rich.text import Text

    from workbench.render.ask_view import render_final

    console = Console()
    render_final(console, results)
    for r in results:
        note = cut_off_note(r)
        if note:  # its status stays "ok" (I4): said in words under the panels too
            console.print(Text(f"{sanitize(r.model.name)}: {note}", style="yellow"))


def result_json(result: AnswerResult) -> dict[str, Any]:
    """The I4 object for one answer."""
    reading = result.reading()
    cost = reading.cost
    return {
        "model": result.model.id,
        "model_name": result.model.name,
        "served_model": result.served_model or result.model.upstream,
        "status": result.status.value,
        "text": result.text,
        "reasoning": result.reasoning,
        "input_tokens": reading.input_tokens,
        "output_tokens": reading.output_tokens,
        "reasoning_tokens": reading.reasoning_tokens,
        "cached_input_tokens": reading.cached_input_tokens,  # cache reads, part of input_tokens
        "cache_write_tokens": reading.cache_write_tokens,  # written to the prompt cache, likewise
        "tokens_exact": reading.exact,
        "token_counting": reading.counting,
        "cost_usd": _num(cost.total_usd),
        "cost_known_usd": _num(cost.known_usd),
        "cost_unknown_parts": cost.unknown_parts,
        # input_cost_usd + output_cost_usd = cost_usd; the cache parts are in input_cost_usd
        "input_cost_usd": _num(cost.all_input_usd),
        "output_cost_usd": _num(cost.output_usd),
        "cached_input_cost_usd": _num(cost.cached_input_usd),
        "cache_write_cost_usd": _num(cost.cache_write_usd),
        "billing": reading.billing,  # e.g. "not billed: failed before the answer"; null otherwise
        "reported_cost_usd": _num(reading.reported_cost_usd),
        "ttft_ms": None if reading.ttft_s is None else round(reading.ttft_s * 1000),
        "duration_ms": round(reading.elapsed_s * 1000),
        "tokens_per_s": None if reading.tokens_per_s is None else round(reading.tokens_per_s, 1),
        "finish_reason": result.finish_reason,
        "error": result.error.as_dict() if result.error else None,
        "answer_id": result.answer_id,
    }


def _num(value) -> float | None:
    # JSON numbers for scripts; the exact Decimal stays in the store.
    return None if value is None else float(value)

