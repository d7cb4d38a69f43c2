"""Routing (C7): what kind of request a prompt is, how hard, which model the policy picks,
and advice from the user's own scores on which cheap model is good enough for each kind.

The classifier is a table of weighted keyword rules rather than a model, on purpose: it runs
offline in microseconds, and every decision can be explained by the words it matched. The
field notes route by difficulty: structural work (a function, a small fix) to the cheap
workhorse, algorithmic work to the reasoning model, the rest to the code-specialised model.

How a prompt becomes a difficulty:

1. The prose (text outside fenced code blocks, so `function` in pasted JavaScript does not
   count) is matched against each kind's rules; the kind with the highest total weight wins,
   ties go to the kind earlier in ``KINDS``. No match: ``other``.
2. The kind gives a starting difficulty (``BASE``): function, bug-fix, explain and test start
   easy; refactor, review, feature and other start medium; algorithm starts hard when its
   signals are strong (weight ≥ ``STRONG_ALGORITHM``: a named algorithm such as Dijkstra, or
   several signals together) and medium otherwise (a lone "sort" or "tree").
3. A complexity estimate (``complexity_of``) adds points for long prose, attached code,
   many requirements, demanding words (concurrency, distributed, security, production,
   scale) and several languages. ``BUMP_ONE`` points move the difficulty up one level,
   ``BUMP_TWO`` points two.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from workbench.catalog import format_price, resolve_models
from workbench.domain import ModelInfo, RoutingPolicy
from workbench.ranking.evidence import AnswerStat, ScoreRow
from workbench.ranking.stats import Interval, LeaderRow, build_leaderboard

DIFFICULTIES = ("easy", "medium", "hard")
# Tie-break order: a request that names an action on existing code (fix, review, test,
# refactor, explain) wins a tie over generic "write/build" words.
KINDS = ("bug-fix", "review", "test", "refactor", "explain", "algorithm", "feature", "function", "other")

# (pattern, weight); matched case-insensitively on the prose. A pattern counts once.
RULES: dict[str, tuple[tuple[str, int], ...]] = {
    "function": (
        (r"\bfunctions?\b", 2), (r"\bhelpers?\b", 2), (r"\butil(s|ity|ities)?\b", 2), (r"\bmethods?\b", 1),
        (r"\bone-liner\b", 2), (r"\bregex\b", 1), (r"\bsnippet\b", 1), (r"\bscript\b", 1), (r"\bclass\b", 1),
    ),
    "bug-fix": (
        (r"\bfix(es|ed|ing)?\b", 3), (r"\bbugs?\b", 3), (r"\brace conditions?\b", 3), (r"error", 2),
        (r"\bexceptions?\b", 2), (r"\bcrash(es|ed|ing)?\b", 3), (r"\b(doesn't|does not|don't|isn't) work", 3),
        (r"\bnot working\b", 3), (r"\bbroken\b", 3), (r"\bdebug(ging)?\b", 3), (r"\bfail(s|ed|ing)?\b", 2),
        (r"\bdeadlocks?\b", 3), (r"\b(memory )?leaks?\b", 2), (r"\btraceback\b", 2), (r"\bstack trace\b", 2),
        (r"\bwrong (output|result|answer)\b", 2),
    ),
    "refactor": (
        (r"\brefactor\w*", 4), (r"\bclean(ing)? up\b", 2), (r"\brestructur\w*", 3), (r"\bsimplif\w*", 2),
        (r"\brename\b", 2), (r"\bextract\b", 1), (r"\bmoderni[sz]e\b", 2), (r"\bmigrate\b", 2),
        (r"\b(port|convert|rewrite) (this|it|the)\b", 2), (r"\bduplicat\w*", 2), (r"\breadab\w*", 1),
    ),
    "algorithm": (
        (r"\balgorithms?\b", 3), (r"\bdijkstra\w*", 4), (r"\bshortest[- ]paths?\b", 4),
        (r"\bdynamic programming\b", 4), (r"\bknapsack\b", 4), (r"\bmax(imum)?[- ]flow\b", 4),
        (r"\btopological\b", 4), (r"\bminimum spanning\b", 4), (r"\bnp[- ]hard\b", 4), (r"\ba\* ?search\b", 4),
        (r"\bbinary search\b", 3), (r"\b(bfs|dfs|breadth[- ]first|depth[- ]first)\b", 3),
        (r"\bbacktracking\b", 3), (r"\bmemoi[sz]\w*", 3), (r"\b(levenshtein|edit distance)\b", 3),
        (r"\bpriority queue\b", 3), (r"\bheaps?\b", 2), (r"\btries\b|\btrie\b", 3),
        (r"\b(quick|merge|heap|radix)sort\b", 3), (r"\btime complexity\b", 3), (r"\bbig[- ]o\b", 3),
        (r"\bo\(\s*(n|log|1|n\^?2)[^)]*\)", 3), (r"\bgraphs?\b", 2), (r"\btrees?\b", 2), (r"\blinked lists?\b", 2),
        (r"\bsort(s|ed|ing)?\b", 1), (r"\bcomplexity\b", 2), (r"\boptimi[sz]\w*", 1), (r"\bheuristics?\b", 2),
        (r"\bpermutations?\b", 2), (r"\bcombinations?\b", 1),
    ),
    "review": (
        (r"\breview\w*", 4), (r"\baudit\w*", 4), (r"\bsecurity (issues?|holes?|problems?|flaws?)\b", 3),
        (r"\bvulnerab\w*", 3), (r"\bcode smells?\b", 2), (r"\bcritique\b", 3), (r"\bwhat'?s wrong with\b", 2),
        (r"\bfeedback on\b", 2),
    ),
    "feature": (
        (r"\bendpoints?\b", 3), (r"\bapi\b", 2), (r"\brest(ful)?\b", 1), (r"\b(web ?)?app(lication)?s?\b", 2),
        (r"\bfeatures?\b", 3), (r"\bpaginat\w*", 3), (r"\bcrud\b", 3), (r"\bbuild\b", 1), (r"\bfilter(s|ing)?\b", 1),
        (r"\b(login|sign[- ]?up|authentication)\b", 2), (r"\bdashboard\b", 2), (r"\bservices?\b", 1),
        (r"\bintegrat\w*", 2), (r"\bwebhooks?\b", 2), (r"\bserver\b", 1), (r"\bforms?\b", 1),
        (r"\bcomponents?\b", 1), (r"\bupload\w*", 1),
    ),
    "explain": (
        (r"\bexplain\w*", 4), (r"\bwhat (is|are|does)\b", 2), (r"\b(why|how) (does|do|is)\b", 2),
        (r"\bdescribe\b", 2), (r"\bdifference between\b", 3), (r"\bunderstand\b", 1), (r"\bwalk me through\b", 3),
    ),
    "test": (
        (r"\b(unit|integration|e2e) tests?\b", 3), (r"\btests\b", 2), (r"\btest cases?\b", 3),
        (r"\bwrite (a )?tests?\b", 4), (r"\b(pytest|jest|unittest|mocha|vitest|junit)\b", 2),
        (r"\bcoverage\b", 2), (r"\bmock\w*", 1),
    ),
}
_COMPILED = {kind: tuple((re.compile(p, re.IGNORECASE), w) for p, w in rules) for kind, rules in RULES.items()}

BASE = {"function": "easy", "bug-fix": "easy", "explain": "easy", "test": "easy", "refactor": "medium",
        "review": "medium", "feature": "medium", "other": "medium", "algorithm": "medium"}
STRONG_ALGORITHM = 4
BUMP_ONE, BUMP_TWO = 4, 7

# Demanding words: each category found in the prose adds one point of complexity.
DEMANDS: dict[str, str] = {
    "concurrency": r"\b(concurren\w*|parallel\w*|thread(s|ed|ing)?|race conditions?|async\w*|await|deadlocks?|"
                   r"mutex\w*|locks?|goroutines?|atomic\w*)\b",
    "distributed": r"\b(distributed|clusters?|consensus|microservices?|replicat\w*|shard\w*)\b",
    "security": r"\b(secure\w*|security|vulnerab\w*|encrypt\w*|(sql|command|code|script) injection|"
                r"injection attacks?|xss|csrf|sanitiz\w*)\b",
    "production": r"\b(production\w*|enterprise|robust\w*|fault[- ]toleran\w*|high availability)\b",
    "scale": r"\b(scal(e|es|able|ability|ing)|performance|performant|high[- ]throughput|low[- ]latency|"
             r"millions?|billions?|large datasets?|memory[- ]efficient)\b",
}
_DEMANDS = {name: re.compile(p, re.IGNORECASE) for name, p in DEMANDS.items()}

LANGUAGES: dict[str, str] = {
    "python": r"\b(python|py)\b", "javascript": r"\b(javascript|js|node(\.js)?|express(\.js)?)\b",
    "typescript": r"\b(typescript|ts)\b", "go": r"\b(golang)\b|\bGo\b", "rust": r"\brust\b",
    "java": r"\bjava\b", "c++": r"\bc\+\+|\bcpp\b", "c#": r"\bc#|\bcsharp\b", "ruby": r"\bruby\b",
    "php": r"\bphp\b", "kotlin": r"\bkotlin\b", "swift": r"\bswift\b", "sql": r"\bsql\b",
    "shell": r"\b(bash|shell|zsh)\b",
}
# Case-sensitive only for Go: "go" is an everyday English word, "Go" in a prompt is the language.
_LANGUAGES = {name: re.compile(p, 0 if name == "go" else re.IGNORECASE) for name, p in LANGUAGES.items()}
_FENCE_LANGUAGES = {name: re.compile(p, re.IGNORECASE) for name, p in LANGUAGES.items()}  # ```go
_FENCE = re.compile(r"^[ \t]*(```+|~~~+)[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)",
                    re.MULTILINE | re.DOTALL)
_LIST_ITEM = re.compile(r"^\s*([-*•]|\d+[.)])\s+\S", re.MULTILINE)
_CUE = re.compile(r"\b(must|should|needs? to|has to|handles?|supports?|ensure|without|edge cases?|"
                  r"constraints?|requirements?)\b", re.IGNORECASE)


# `-m routed` (or the model picker's "Routed" entry): a pane that sends each prompt to the model
# the policy picks for it. It is not a model of the catalog; answers are saved under the model
# that answered.
ROUTED_ID = "routed"
ROUTED = ModelInfo(id=ROUTED_ID, provider="", name="Routed", upstream=ROUTED_ID, routed=True)


def is_routed(model: ModelInfo) -> bool:
    """True for the policy's pseudo-model."""
    return model.id == ROUTED_ID


def resolve_with_routed(settings, ids) -> list[ModelInfo]:
    """``catalog.resolve_models`` that also accepts ``routed`` (kept in its place in the order)."""
    others = resolve_models(settings, [i for i in ids if i != ROUTED_ID])
    if ROUTED_ID not in ids:
        return others
    out, rest = [], iter(others)
    seen = set()
    for model_id in ids:
        if model_id == ROUTED_ID:
            if ROUTED_ID not in seen:
                out.append(ROUTED)
                seen.add(ROUTED_ID)
        else:
            model = next(rest, None)
            if model is not None and model not in out:
                out.append(model)
    out.extend(m for m in rest if m not in out)
    return out


class RoutingError(ValueError):
    """A policy that names a model the catalog does not have."""


@dataclass(frozen=True)
class Classification:
    """What a prompt asks for, how hard it is, and why."""

    kind: str
    difficulty: str
    reasons: tuple[str, ...]
    complexity: int
    matched: tuple[str, ...] = ()  # the words that decided the kind, as they appear in the prompt
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class RouteDecision:
    """The model a policy picks for a prompt, with one readable sentence saying why."""

    classification: Classification
    model: ModelInfo
    reason: str


def split_code(prompt: str) -> tuple[str, list[tuple[str, str]]]:
    """The prose of a prompt and its fenced code blocks as (info string, code) pairs."""
    blocks = [(m.group(2).lower(), m.group(3)) for m in _FENCE.finditer(prompt)]
    return _FENCE.sub("\n", prompt), blocks


def _kind_scores(prose: str) -> dict[str, tuple[int, list[str]]]:
    out = {}
    for kind, rules in _COMPILED.items():
        total, found = 0, {}
        for pattern, weight in rules:
            m = pattern.search(prose)
            if m:
                total += weight
                found.setdefault(" ".join(m.group(0).lower().split()), m.start())
        if total:
            # in the order they appear in the prompt, so the reason reads like the prompt
            out[kind] = (total, sorted(found, key=found.__getitem__))
    return out


def complexity_of(prompt: str) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
    """Points of complexity, the reasons for each point, and the languages mentioned."""
    prose, blocks = split_code(prompt)
    points, reasons = 0, []
    words = len(prose.split())
    if words > 80:
        extra = 2 if words > 200 else 1
        points += extra
        reasons.append(f"+{extra} long prompt ({words} words)")
    code_lines = sum(len([ln for ln in code.splitlines() if ln.strip()]) for _, code in blocks)
    extra = 3 if code_lines >= 300 else 2 if code_lines >= 100 else 1 if code_lines >= 20 else 0
    if extra:
        points += extra
        reasons.append(f"+{extra} attached code ({code_lines} lines)")
    requirements = len(_LIST_ITEM.findall(prose)) + len(_CUE.findall(prose))
    extra = 2 if requirements >= 6 else 1 if requirements >= 3 else 0
    if extra:
        points += extra
        reasons.append(f"+{extra} {requirements} requirements or constraints")
    for name, pattern in _DEMANDS.items():
        found = sorted({" ".join(m.group(0).lower().split()) for m in pattern.finditer(prose)})
        if found:
            points += 1
            reasons.append(f"+1 {name} ({', '.join(found)})")
    languages = [name for name, pattern in _LANGUAGES.items() if pattern.search(prose)]
    for info, _ in blocks:
        for name, pattern in _FENCE_LANGUAGES.items():
            if info and pattern.fullmatch(info) and name not in languages:
                languages.append(name)
    if len(languages) >= 2:
        points += 1
        reasons.append(f"+1 several languages ({', '.join(languages)})")
    return points, tuple(reasons), tuple(languages)


def classify(prompt: str) -> Classification:
    """Kind, difficulty and complexity of a prompt, with the words and counts that decided them."""
    prose, _ = split_code(prompt)
    scores = _kind_scores(prose)
    if scores:
        kind = max(scores, key=lambda k: (scores[k][0], -KINDS.index(k)))
        weight, matched = scores[kind]
        reasons = [f"{kind} request (matched: {', '.join(matched)}; weight {weight})"]
        others = sorted((k for k in scores if k != kind), key=lambda k: (-scores[k][0], KINDS.index(k)))
        if others:
            reasons.append("also matched " + "; ".join(f"{k} {scores[k][0]} ({', '.join(scores[k][1])})"
                                                       for k in others))
    else:
        kind, weight, matched = "other", 0, []
        reasons = ["no known kind of request matched"]
    base = BASE[kind]
    if kind == "algorithm" and weight >= STRONG_ALGORITHM:
        base = "hard"
        reasons.append(f"strong algorithmic signals (weight {weight} ≥ {STRONG_ALGORITHM}) start hard")
    else:
        reasons.append(f"{kind} starts {base}")
    points, why, languages = complexity_of(prompt)
    reasons.extend(why)
    bump = 2 if points >= BUMP_TWO else 1 if points >= BUMP_ONE else 0
    level = min(DIFFICULTIES.index(base) + bump, len(DIFFICULTIES) - 1)
    if bump:
        reasons.append(f"complexity {points} ≥ {BUMP_TWO if bump == 2 else BUMP_ONE} moves it up to "
                       f"{DIFFICULTIES[level]}")
    else:
        reasons.append(f"complexity {points} < {BUMP_ONE} keeps it {base}")
    return Classification(kind, DIFFICULTIES[level], tuple(reasons), points, tuple(matched), languages)


def route(prompt: str, policy: RoutingPolicy, models: Mapping[str, ModelInfo]) -> RouteDecision:
    """Classify the prompt and pick the policy's model for its difficulty."""
    c = classify(prompt)
    model_id = policy.model_for(c.difficulty)
    model = models.get(model_id)
    if model is None:
        raise RoutingError(f"the routing policy sends {c.difficulty} prompts to {model_id!r}, "
                           "which is not in the catalog")
    what = f"{c.kind} request (matched: {', '.join(c.matched)})" if c.matched else \
        "request of no known kind (no keyword matched)"
    price = model.prices.output_per_m
    cost = f"{format_price(price)}/M out" if price is not None else "output price unknown"
    reason = f"{what}, complexity {c.complexity} → {c.difficulty} → {model.id} ({model.name}, {cost})"
    return RouteDecision(c, model, reason)


@dataclass(frozen=True)
class Advice:
    """For one kind of task: the cheapest model within the margin of the best, and the evidence.

    ``model_id`` is None when no model can be advised (none within the margin has a known
    price). ``thin`` is True when the chosen or the best model has fewer than ``min_n``
    scores of this kind: the pick is then shown as tentative, not as advice.
    """

    kind: str
    model_id: str | None
    name: str | None
    score: float | None
    n: int
    ci: Interval | None
    price_per_m: Decimal | None
    best_model_id: str
    best_name: str
    best_score: float
    best_n: int
    thin: bool
    summary: str
    notes: tuple[str, ...] = ()


def unit_of(row: ScoreRow | AnswerStat) -> str:
    """The task id, or ``run:<id>`` for a free-form prompt (as ``ScoreRow.unit``)."""
    return row.task if row.task else f"run:{row.run_id}"


def advise(
    scores: list[ScoreRow],
    answers: list[AnswerStat],
    models: Mapping[str, ModelInfo],
    kinds: Mapping[str, str],
    *,
    margin: float = 0.5,
    min_n: int = 3,
) -> list[Advice]:
    """Per kind of task (``kinds`` maps a unit to a kind; other units count as "other"): the
    cheapest model whose mean is within ``margin`` of the best mean, in kind order."""
    by_kind_scores: dict[str, list[ScoreRow]] = defaultdict(list)
    by_kind_answers: dict[str, list[AnswerStat]] = defaultdict(list)
    for s in scores:
        by_kind_scores[kinds.get(s.unit, "other")].append(s)
    for a in answers:
        by_kind_answers[kinds.get(unit_of(a), "other")].append(a)
    out = []
    for kind in sorted(by_kind_scores, key=lambda k: (KINDS.index(k) if k in KINDS else -1, k)):
        # The same maths as `workbench rank`, on this kind's evidence only (the answers give
        # the price in force when a model is no longer in the catalog).
        board = build_leaderboard(by_kind_scores[kind], by_kind_answers[kind], models)
        rows = [r for r in board.rows if r.n and r.score is not None]
        if rows:
            out.append(_advice(kind, rows, margin, min_n))
    return out


def _price_key(r: LeaderRow) -> tuple:
    return (r.price_per_m is None, r.price_per_m or 0, r.name.casefold(), r.model_id)


def _advice(kind: str, rows: list[LeaderRow], margin: float, min_n: int) -> Advice:
    top = max(r.score for r in rows if r.score is not None)
    # Equal means within float noise are a tie; among tied best models the cheaper one is named.
    tied = sorted((r for r in rows if top - (r.score or 0) < 1e-9), key=_price_key)
    best = tied[0]
    within = [r for r in rows if top - (r.score or 0) <= margin + 1e-9]
    notes = []
    for r in within:
        if r.price_per_m is None:
            notes.append(f"{r.name} is within the margin but its price is unknown, so it cannot be the cheapest")
        elif r.flag:
            notes.append(f"{r.name}* is within the margin but flagged ({'; '.join(r.flag_reasons)}): "
                         "its score does not predict the next answer")
    # A flagged row (routing tier, served model varied, unstable across repeats) is left out like
    # `rank` leaves it out of best value: its next answer may be nothing like its average.
    priced = sorted((r for r in within if r.price_per_m is not None and not r.flag),
                    key=lambda r: (r.price_per_m, -(r.score or 0), -r.n, r.name.casefold(), r.model_id))
    best_text = " & ".join(r.name for r in tied) + f" at {top:.1f} (n={best.n})"
    if not priced:
        return Advice(kind, None, None, None, 0, None, None, best.model_id, best.name, top, best.n, False,
                      f"no advice: no model within {margin:g} of the best ({best_text}) has a known output "
                      "price that can be compared", tuple(notes))
    pick = priced[0]
    thin_models = [r for r in dict.fromkeys([pick, best]) if r.n < min_n]
    ci = f", 95% CI {pick.ci.low:.1f}–{pick.ci.high:.1f}" if pick.ci else ""
    evidence = f"{pick.name} ({format_price(pick.price_per_m)}/M) scores {pick.score:.1f} (n={pick.n}{ci})"
    if pick.model_id == best.model_id:
        summary = f"{evidence}: the best, and the cheapest within {margin:g} of it"
    else:
        summary = f"{evidence}, within {margin:g} of the best, {best_text}"
    if thin_models:
        counts = ", ".join(f"{r.name} has {r.n}" for r in thin_models)
        summary = f"too thin: {counts} score(s) of this kind, fewer than {min_n}; tentatively {summary}"
    return Advice(kind, pick.model_id, pick.name, pick.score, pick.n, pick.ci, pick.price_per_m, best.model_id,
                  best.name, top, best.n, bool(thin_models), summary, tuple(notes))
