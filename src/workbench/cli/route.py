"""`workbench route` (C7): which model the routing policy picks for a prompt and why; the
policy in force; and advice from the user's own scores (`--advise`).

Imports of the core sit in the functions: `workbench --help` imports this module for its parser (Q2).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from workbench.safety import sanitize

if TYPE_CHECKING:
    from workbench.config import Settings
    from workbench.routing import Advice

# Suite files name kinds in their own words; these mean the same as the classifier's kinds,
# so a suite's "algorithmic" task and a free-form Dijkstra prompt are judged together.
# Other suite kinds ("structural") are kept as they are.
KIND_ALIASES = {"algorithmic": "algorithm", "bugfix": "bug-fix", "bug fix": "bug-fix", "bug_fix": "bug-fix",
                "functions": "function", "tests": "test", "testing": "test", "features": "feature",
                "reviews": "review", "refactoring": "refactor"}


def run_route(settings: Settings, args: argparse.Namespace) -> int:
    """Route a prompt, explain the policy or advise from scores; exit code 0."""
    from workbench.cli.common import UsageError

    if args.suite and not args.advise and args.prompt is None and not args.explain_policy:
        return _route_suite(settings, args)
    modes = [bool(args.prompt is not None), bool(args.advise), bool(args.explain_policy)]
    if sum(modes) != 1:
        raise UsageError("route: give a PROMPT (or - for standard input), --suite ID, --advise or "
                         "--explain-policy, one of them")
    if args.explain_policy:
        return _explain_policy(settings, as_json=args.json)
    if args.advise:
        return _advise(settings, args)
    if args.margin is not None or args.suite is not None:
        raise UsageError("route: --margin and --suite go with --advise")
    return _route(settings, args)


def _route_suite(settings: Settings, args: argparse.Namespace) -> int:
    """Route every task of a suite: which model the policy would send each one to, and why."""
    from workbench.cli.common import CommandError
    from workbench.routing import RoutingError, route
    from workbench.suites import SuiteError, find_suite

    try:
        suite = find_suite(args.suite)
        decisions = [(task, route(task.message, settings.routing, settings.models)) for task in suite.tasks]
    except (SuiteError, RoutingError) as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        print(json.dumps([{"task": t.id, "suite_kind": t.kind, "kind": d.classification.kind,
                           "difficulty": d.classification.difficulty, "model": d.model.id, "reason": d.reason}
                          for t, d in decisions], indent=2))
        return 0
    for task, decision in decisions:
        print(sanitize(f"{task.id} ({task.kind}): {decision.reason}"))
    return 0


def _route(settings: Settings, args: argparse.Namespace) -> int:
    from workbench.cli.common import CommandError, prompt_from
    from workbench.routing import RoutingError, route

    prompt = prompt_from(args.prompt)
    try:
        decision = route(prompt, settings.routing, settings.models)
    except RoutingError as exc:
        raise CommandError(str(exc)) from None
    c, model = decision.classification, decision.model
    if args.json:
        print(json.dumps({
            "kind": c.kind, "difficulty": c.difficulty, "complexity": c.complexity, "matched": list(c.matched),
            "languages": list(c.languages), "reasons": list(c.reasons), "model": model.id, "name": model.name,
            "output_per_m": None if model.prices.output_per_m is None else format(model.prices.output_per_m, "f"),
            "reason": decision.reason,
        }, indent=2))
        return 0
    print(f"kind:       {c.kind}" + (f" (matched: {', '.join(c.matched)})" if c.matched else ""))
    print(f"difficulty: {c.difficulty} (complexity {c.complexity})")
    print(f"model:      {sanitize(model.id)} ({sanitize(model.name)})")
    print(f"why:        {sanitize(decision.reason)}")
    for reason in c.reasons:
        print(f"  - {reason}")
    return 0


def policy_rows(settings: Settings) -> list[dict]:
    """The policy in force, one dict per difficulty, with where each choice came from."""
    from workbench.domain import RoutingPolicy

    default = RoutingPolicy()
    rows = []
    for level in ("easy", "medium", "hard"):
        model_id = settings.routing.model_for(level)
        model = settings.models.get(model_id)
        price = model.prices.output_per_m if model else None
        # A value equal to the default is reported as the default: true either way.
        from_config = model_id != default.model_for(level) and settings.source is not None
        rows.append({"difficulty": level, "model": model_id, "name": model.name if model else None,
                     "output_per_m": None if price is None else format(price, "f"),
                     "source": f"{settings.source} [routing]" if from_config else "default (the field notes' map)"})
    return rows


def _explain_policy(settings: Settings, *, as_json: bool) -> int:
    from decimal import Decimal

    from workbench.catalog import format_price

    rows = policy_rows(settings)
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    print("Routing policy (change it in the [routing] table of the config: easy/medium/hard = model id):")
    for r in rows:
        price = format_price(Decimal(r["output_per_m"])) + "/M out" if r["output_per_m"] else "output price unknown"
        print(f"  {r['difficulty']:<6} → {sanitize(r['model'])} ({sanitize(r['name'] or '?')}, {price})"
              f"  from {sanitize(r['source'])}")
    print("Difficulty: the kind of request sets a start (function, bug fix, explain, test: easy; refactor, review, "
          "feature: medium; algorithm: hard when it names one); complexity (length, attached code, requirements, "
          "concurrency/distributed/security/production/scale words, several languages) moves it up.")
    return 0


def task_kinds(store, scores) -> dict[str, str]:
    """Unit (task id or ``run:<id>``) → kind: from the tasks of known suites, else from the
    classification of the run's prompt. Imported scores have no prompt and stay "other"."""
    from workbench.routing import classify
    from workbench.store.answers import get_run

    kinds: dict[str, str] = {}
    try:
        from workbench.suites import list_suites
    except ImportError:  # suites land separately; advice still works from prompts alone
        list_suites = None
    if list_suites is not None:
        try:
            for entry in list_suites():
                for task in entry[0].tasks:  # entry: (suite, source, …)
                    kind = str(task.kind or "other").strip().lower()
                    kinds.setdefault(task.id, KIND_ALIASES.get(kind, kind))
        except Exception as exc:  # noqa: BLE001 — one bad suite file must not stop the advice
            print(f"workbench: route: suites skipped ({sanitize(str(exc))}); kinds come from prompts",
                  file=sys.stderr)
    for row in scores:
        if row.unit in kinds:
            continue
        run = get_run(store, row.run_id)
        if run is not None and run.source != "import":
            kinds[row.unit] = classify(run.prompt).kind
    return kinds


def _advise(settings: Settings, args: argparse.Namespace) -> int:
    from workbench.cli.common import CommandError
    from workbench.paths import store_file
    from workbench.ranking.evidence import RankFilter
    from workbench.routing import advise
    from workbench.store.db import open_store
    from workbench.store.scores import answer_stats, score_rows

    margin = 0.5 if args.margin is None else args.margin
    if not margin >= 0:
        raise CommandError("--margin: must be a number of points ≥ 0, e.g. 0.5")
    if args.min_n < 1:
        raise CommandError("--min-n: must be a whole number ≥ 1")
    filt = RankFilter(suite=args.suite)
    store = open_store(store_file())
    try:
        scores, answers = score_rows(store, filt), answer_stats(store, filt)
        kinds = task_kinds(store, scores)
    finally:
        store.close()
    advice = advise(scores, answers, settings.models, kinds, margin=margin, min_n=args.min_n)
    units: dict[str, list[str]] = {}
    for s in scores:
        kind = kinds.get(s.unit, "other")
        if s.unit not in units.setdefault(kind, []):
            units[kind].append(s.unit)
    if args.json:
        print(json.dumps([_advice_json(a, units.get(a.kind, [])) for a in advice], indent=2))
        return 0
    if not advice:
        print("No scores yet" + (f" in suite {sanitize(args.suite)}" if args.suite else "")
              + ": score answers (`workbench score`, the app) or `workbench import-scores`, then ask again.")
        return 0
    print(f"Cheapest model within {margin:g} points of the best, per kind of task "
          f"(too thin: fewer than {args.min_n} scores):")
    for a in advice:
        print(f"\n{a.kind}  ({_describe_units(units.get(a.kind, []))})")
        mark = "?" if a.thin else "→"
        print(f"  {mark} {sanitize(a.summary)}")
        for note in a.notes:
            print(f"    note: {sanitize(note)}")
    return 0


def _describe_units(units: list[str]) -> str:
    tasks = [u for u in units if not u.startswith("run:")]
    free = len(units) - len(tasks)
    parts = [f"tasks: {', '.join(sanitize(t) for t in tasks)}"] if tasks else []
    if free:
        parts.append(f"{free} free-form prompt(s)")
    return "; ".join(parts)


def _advice_json(a: Advice, units: list[str]) -> dict:
    def num(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    return {
        "kind": a.kind, "units": units, "model": a.model_id, "name": a.name, "score": num(a.score), "n": a.n,
        "ci": None if a.ci is None else [a.ci.low, a.ci.high],
        "price_per_m": None if a.price_per_m is None else format(a.price_per_m, "f"),
        "best_model": a.best_model_id, "best_name": a.best_name, "best_score": num(a.best_score),
        "best_n": a.best_n, "thin": a.thin, "advice": a.summary, "notes": list(a.notes),
    }


def add_parser(sub, add_common) -> None:
    """The `route` sub-command."""
    route = sub.add_parser(
        "route", help="which model the routing policy picks for a prompt, and why; --advise from your scores",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Classify a prompt (function, bug-fix, refactor, algorithm, review, feature, explain, test, "
                    "other), estimate its complexity, map it to easy/medium/hard and name the model the policy "
                    "picks for that difficulty, with the words that decided it. The default policy is the field "
                    "notes' map (easy → deepseek-v4-flash, medium → qwen3-coder-30b, hard → deepseek-r1); "
                    "change it in the [routing] table of the config.",
        epilog="examples:\n"
               "  workbench route \"Implement Dijkstra's shortest path in TypeScript.\"\n"
               "  git diff | workbench route --json -\n"
               "  workbench route --explain-policy\n"
               "  workbench route --suite coding-2026        # the choice for each task of a suite\n"
               "  workbench route --advise --margin 0.3 --suite coding-2026",
    )
    add_common(route)
    route.add_argument("prompt", nargs="?", metavar="PROMPT", help="the prompt; `-` reads it from standard input")
    route.add_argument("--advise", action="store_true",
                       help="per kind of task, the cheapest model within --margin of the best, from your scores")
    route.add_argument("--margin", type=float, metavar="POINTS", help="with --advise: points below the best (0.5)")
    route.add_argument("--min-n", type=int, default=3, metavar="N",
                       help="with --advise: fewer scores than this for a model is too thin to advise (3)")
    route.add_argument("--suite", metavar="ID",
                       help="alone: route every task of this suite; with --advise: only runs of this suite")
    route.add_argument("--explain-policy", action="store_true", help="print the policy in force and where it came from")
    route.add_argument("--json", action="store_true", help="print JSON")
