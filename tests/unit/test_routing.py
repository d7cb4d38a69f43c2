"""Routing (C7): classification of prompts, the policy from config, route decisions, and
advice from scores (the cheapest model within a margin of the best, or "too thin")."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import pytest

from workbench.config import ConfigError, load_settings
from workbench.domain import ModelInfo, Prices, RoutingPolicy
from workbench.ranking.evidence import AnswerStat, ScoreRow
from workbench.routing import RoutingError, advise, classify, complexity_of, route, split_code

# The five tasks of the field notes, word for word from seed/tasks.toml; attached code goes in
# a fenced block with its language, as a suite sends it.
FLATTEN = ("Write a Python function to flatten a nested list recursively. It should handle lists of arbitrary "
           "depth, ignore non-list iterables, and have proper type hints.")
RACE = ("Fix the race condition in this async/await code.\n\n```javascript\nlet data = null;\n"
        "fetch('/api/data').then(r => r.json()).then(d => data = d);\n"
        "console.log(data); // Always logs null — race condition!\n```\n")
DIJKSTRA = "Implement Dijkstra's shortest path in TypeScript."
GO_CODE = """package main

import (
\t"database/sql"
\t"fmt"
\t"net/http"
)

var cache = map[string]string{}

type Server struct {
\tdb *sql.DB
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) {
\tname := r.URL.Query().Get("name")
\t// the query is built by concatenation
\trows, _ := s.db.Query("SELECT id, email FROM users WHERE name = '" + name + "'")
\tdefer rows.Close()
\tfor rows.Next() {
\t\tvar id int
\t\tvar email string
\t\trows.Scan(&id, &email)
\t\tcache[name] = email
\t\tfmt.Fprintf(w, "%d %s\\n", id, email)
\t}
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
\tgo func() {
\t\tfor k, v := range cache {
\t\t\tfmt.Println(k, v)
\t\t}
\t}()
\tw.WriteHeader(http.StatusAccepted)
}

func main() {
\tdb, err := sql.Open("postgres", "postgres://admin:admin@localhost/app")
\tif err != nil {
\t\tpanic(err)
\t}
\ts := &Server{db: db}
\thttp.HandleFunc("/user", s.user)
\thttp.HandleFunc("/audit", s.audit)
\thttp.ListenAndServe(":8080", nil)
}
"""
GO_REVIEW = f"Review this Go code for security issues and performance.\n\n```go\n{GO_CODE}```\n"
EXPRESS = "Build a REST API endpoint with Express.js that paginates and filters users."

LIMITER = ("Build a production-ready, distributed rate limiter service in Go backed by Redis. It must be safe "
           "under concurrent access, scale to millions of requests per second and be secure against abuse.")

# (prompt, kind, difficulty). The race-condition fix is easy: the suite tags it structural, its
# code is three lines, and in the notes the cheap workhorse tied for the top score (9.0) on it.
TABLE = [
    (FLATTEN, "function", "easy"),
    (RACE, "bug-fix", "easy"),
    (DIJKSTRA, "algorithm", "hard"),
    (GO_REVIEW, "review", "medium"),
    (EXPRESS, "feature", "medium"),
    ("Write a helper that converts snake_case keys to camelCase in Python.", "function", "easy"),
    ("Refactor this class to use dependency injection instead of globals.", "refactor", "medium"),
    ("Explain what this regex does: ^\\d{3}-\\d{4}$", "explain", "easy"),
    ("Write pytest unit tests for the parse_date function.", "test", "easy"),
    ("Implement a dynamic programming solution to the knapsack problem in Rust.", "algorithm", "hard"),
    ("My Flask app crashes with a KeyError when the form is empty.", "bug-fix", "easy"),
    (LIMITER, "feature", "hard"),
    ("Audit this PHP login page for SQL injection.", "review", "medium"),
    ("Optimize this sorting routine, it is O(n^2) on large inputs.", "algorithm", "hard"),
    ("Sort a list of dicts by the 'age' key.", "algorithm", "medium"),
    ("What's the difference between a process and a thread?", "explain", "easy"),
    ("hello there", "other", "medium"),
    ("Add a CRUD API for products with pagination to our FastAPI app.", "feature", "medium"),
    ("Find the shortest path in a weighted graph with A* search.", "algorithm", "hard"),
    ("Write a function that returns the nth Fibonacci number.", "function", "easy"),
]


@pytest.mark.parametrize(("prompt", "kind", "difficulty"), TABLE, ids=[f"{i}-{t[1]}" for i, t in enumerate(TABLE)])
def test_classification_table(prompt: str, kind: str, difficulty: str) -> None:
    c = classify(prompt)
    assert (c.kind, c.difficulty) == (kind, difficulty), c.reasons


def test_the_reasons_name_the_matched_words() -> None:
    c = classify(DIJKSTRA)
    assert c.matched == ("dijkstra", "shortest path")
    assert "algorithm request (matched: dijkstra, shortest path; weight 8)" in c.reasons
    race = classify(RACE)
    assert {"fix", "race condition"} <= set(race.matched)
    assert any(r.startswith("+1 concurrency (") and "race condition" in r for r in race.reasons)
    # in the order they appear in the prompt
    assert classify(EXPRESS).matched == ("build", "rest", "api", "endpoint", "paginates", "filters")


def test_dependency_injection_is_not_a_security_word() -> None:
    assert classify("Refactor this class to use dependency injection.").complexity == 0
    assert "+1 security (sql injection)" in classify("Audit this for SQL injection.").reasons


def test_code_in_a_fence_is_not_read_as_words() -> None:
    # `function` and `fix` inside pasted code must not make this a function or bug-fix request.
    prompt = "Explain this:\n```js\nfunction fix() { throw new Error('bug') }\n```"
    c = classify(prompt)
    assert c.kind == "explain" and c.matched == ("explain",)
    prose, blocks = split_code(prompt)
    assert "function" not in prose and blocks == [("js", "function fix() { throw new Error('bug') }\n")]


def test_complexity_counts_attached_code_and_demanding_words() -> None:
    points, reasons, languages = complexity_of(GO_REVIEW)
    assert points == 3
    assert any(r.startswith("+1 attached code (") for r in reasons)
    assert "+1 security (security)" in reasons and "+1 scale (performance)" in reasons
    assert languages == ("go",)
    assert complexity_of(DIJKSTRA)[0] == 0
    # 300 lines of code alone reach three points; a long rewrite of a function is no longer easy
    big = "Write a function like this one but faster:\n```python\n" + "x = 1\n" * 300 + "```"
    assert complexity_of(big)[0] == 3
    points, reasons, _ = complexity_of(LIMITER)
    assert points >= 5 and "+1 distributed (distributed)" in reasons


def test_several_languages_add_a_point_but_go_as_a_verb_does_not() -> None:
    assert complexity_of("Port this Python script to TypeScript.")[2] == ("python", "typescript")
    assert "+1 several languages (python, typescript)" in complexity_of("Port this Python script to TypeScript.")[1]
    assert complexity_of("Let's go and write a Python function.")[2] == ("python",)


def test_difficulty_rises_with_complexity() -> None:
    base = "Write a function that parses a config file."
    assert classify(base).difficulty == "easy"
    demanding = (base + " It must be secure, production-grade, thread-safe, handle millions of files, work in a "
                 "distributed cluster, support Python and Rust bindings.")
    c = classify(demanding)
    assert c.kind == "function" and c.complexity >= 4 and c.difficulty in ("medium", "hard")
    assert any("moves it up" in r for r in c.reasons)


CATALOG = load_settings(None).models


def test_route_uses_the_default_policy_of_the_notes() -> None:
    expected = {FLATTEN: "deepseek-v4-flash", RACE: "deepseek-v4-flash", DIJKSTRA: "deepseek-r1",
                GO_REVIEW: "qwen3-coder-30b", EXPRESS: "qwen3-coder-30b"}
    for prompt, model_id in expected.items():
        assert route(prompt, RoutingPolicy(), CATALOG).model.id == model_id
    decision = route(DIJKSTRA, RoutingPolicy(), CATALOG)
    assert decision.reason == ("algorithm request (matched: dijkstra, shortest path), complexity 0 → hard → "
                               "deepseek-r1 (DeepSeek-R1, $2.50/M out)")
    assert "no keyword matched" in route("hello there", RoutingPolicy(), CATALOG).reason


def test_route_with_a_custom_policy_and_unknown_price() -> None:
    models = dict(CATALOG)
    models["mine"] = ModelInfo(id="mine", provider="global-apis", name="Mine", upstream="mine")
    decision = route(DIJKSTRA, RoutingPolicy(hard="mine"), models)
    assert decision.model.id == "mine" and decision.reason.endswith("→ mine (Mine, output price unknown)")
    with pytest.raises(RoutingError, match="'nope'"):
        route(FLATTEN, RoutingPolicy(easy="nope"), CATALOG)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    return path


def test_policy_default_and_from_config(tmp_path: Path) -> None:
    assert load_settings(None).routing == RoutingPolicy("deepseek-v4-flash", "qwen3-coder-30b", "deepseek-r1")
    settings = load_settings(write(tmp_path, '[routing]\nhard = "kimi-k2.5"\n'))
    assert settings.routing == RoutingPolicy(hard="kimi-k2.5")
    # a model the same file adds can be named
    text = ('[providers.box]\nkind = "openai"\nbase_url = "http://127.0.0.1:8080/v1"\n'
            '[[models]]\nid = "box"\nprovider = "box"\n[routing]\neasy = "box"\nmedium = "deepseek-coder"\n')
    assert load_settings(write(tmp_path, text)).routing == RoutingPolicy("box", "deepseek-coder", "deepseek-r1")


@pytest.mark.parametrize(("text", "key", "problem"), [
    ('[routing]\nhard = "gpt-9"\n', "routing.hard", "unknown model id 'gpt-9'"),
    ("[routing]\neasy = 3\n", "routing.easy", "must be a model id"),
    ('[routing]\nmedium = ""\n', "routing.medium", "must be a model id"),
    ('[routing]\nextreme = "deepseek-r1"\n', "routing.extreme", "unknown key"),
    ('routing = "deepseek-r1"\n', "routing", "must be a table"),
])
def test_policy_errors_name_file_and_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.file == str(path) and info.value.key == key and problem in info.value.problem
    assert str(info.value).startswith(f"{path}: {key}: ") and "\n" not in str(info.value)


# ---- advice ---------------------------------------------------------------------------------

_ids = itertools.count(1)


def model(model_id: str, price: str | None, *, routed: bool = False) -> ModelInfo:
    return ModelInfo(id=model_id, provider="gw", name=model_id.title(), upstream=model_id,
                     prices=Prices(output_per_m=None if price is None else Decimal(price)), routed=routed)


def scores(model_id: str, unit_scores: dict[str, list[float]]) -> list[ScoreRow]:
    """Score rows of one model; a unit "run:N" is a free-form run N, anything else a task."""
    rows = []
    for unit, values in unit_scores.items():
        for value in values:
            i = next(_ids)
            run_id = int(unit[4:]) if unit.startswith("run:") else 1000 + i
            rows.append(ScoreRow(answer_id=i, run_id=run_id, model_id=model_id, model_name=model_id,
                                 task=None if unit.startswith("run:") else unit, suite=None, score=value, note="",
                                 blind=False, scorer="me", scored_at=f"2026-03-01T10:{i % 60:02d}:00Z",
                                 run_at="2026-03-01T09:00:00Z"))
    return rows


MODELS = {m.id: m for m in (model("flash", "0.25"), model("coder", "0.35"), model("r1", "2.50"),
                            model("free", "0"), model("mystery", None), model("tier", "0.20", routed=True))}
KINDS = {"flatten": "structural", "race": "structural", "dijkstra": "algorithm", "run:7": "algorithm"}


def by_kind(advice: list) -> dict:
    return {a.kind: a for a in advice}


def test_cheapest_within_the_margin_with_evidence() -> None:
    rows = (scores("flash", {"flatten": [9, 9, 8.5], "race": [9, 9]})
            + scores("r1", {"flatten": [9.5, 9.5, 9.5], "race": [9, 9.5]})
            + scores("r1", {"dijkstra": [9.5, 9.5], "run:7": [9.5]})
            + scores("flash", {"dijkstra": [8.5, 8, 8.5], "run:7": [8]}))
    advice = by_kind(advise(rows, [], MODELS, KINDS))
    s = advice["structural"]
    # flash: mean of unit means (8.833 + 9.0) / 2 = 8.917; r1: (9.5 + 9.25) / 2 = 9.375: within 0.5
    assert (s.model_id, s.best_model_id, s.n, s.thin) == ("flash", "r1", 5, False)
    assert s.price_per_m == Decimal("0.25") and s.ci is not None and s.ci.low <= s.score <= s.ci.high
    assert s.summary.startswith("Flash ($0.25/M) scores 8.9 (n=5, 95% CI ") and "the best, R1 at 9.4" in s.summary
    a = advice["algorithm"]  # flash is 1.2 points behind on algorithms: the reasoning model it is
    assert (a.model_id, a.best_model_id, a.thin) == ("r1", "r1", False)
    assert "the best, and the cheapest within 0.5 of it" in a.summary
    # a narrower margin sends structural work to r1 as well
    assert by_kind(advise(rows, [], MODELS, KINDS, margin=0.2))["structural"].model_id == "r1"


def test_too_thin_when_either_model_has_few_scores() -> None:
    rows = scores("flash", {"flatten": [9, 9, 9]}) + scores("r1", {"flatten": [9.5, 9.5]})
    a = advise(rows, [], MODELS, KINDS)[0]
    assert a.thin and a.model_id == "flash"
    assert a.summary.startswith("too thin: R1 has 2 score(s) of this kind, fewer than 3; tentatively Flash")
    assert not advise(rows, [], MODELS, KINDS, min_n=2)[0].thin


def test_a_tie_at_the_top_goes_to_the_cheaper_model() -> None:
    rows = scores("coder", {"race": [9, 9, 9]}) + scores("flash", {"race": [9, 9, 9]})
    a = advise(rows, [], MODELS, KINDS, margin=0)[0]
    assert (a.model_id, a.best_model_id) == ("flash", "flash")
    assert a.best_score == 9.0 and not a.thin


def test_a_free_model_is_the_cheapest_and_unknown_price_cannot_be() -> None:
    rows = (scores("r1", {"dijkstra": [9, 9, 9]}) + scores("free", {"dijkstra": [8.5, 8.5, 9]})
            + scores("mystery", {"dijkstra": [9, 9, 9]}))
    a = advise(rows, [], MODELS, KINDS)[0]
    assert a.model_id == "free" and a.price_per_m == Decimal(0)
    assert a.notes == ("Mystery is within the margin but its price is unknown, so it cannot be the cheapest",)


def test_no_advice_when_no_model_within_the_margin_has_a_price() -> None:
    rows = scores("mystery", {"race": [9, 9, 9]}) + scores("flash", {"race": [7, 7, 7]})
    a = advise(rows, [], MODELS, KINDS)[0]
    assert a.model_id is None and a.best_model_id == "mystery" and not a.thin
    assert a.summary.startswith("no advice: no model within 0.5 of the best (Mystery at 9.0 (n=3))")


def test_a_routing_tier_is_not_advised() -> None:
    rows = scores("tier", {"race": [9, 9, 9]}) + scores("flash", {"race": [9, 9, 9]})
    a = advise(rows, [], MODELS, KINDS)[0]
    assert a.model_id == "flash"
    assert any(n.startswith("Tier* is within the margin but flagged (routing tier)") for n in a.notes)


def test_units_without_a_kind_are_other_and_prices_come_from_answers() -> None:
    # "gone" has left the catalog; the price stored with its answers still counts
    rows = scores("gone", {"misc": [8, 8, 8]}) + scores("r1", {"misc": [8.2, 8.2, 8.2]})
    stats = [AnswerStat(answer_id=r.answer_id, run_id=r.run_id, model_id="gone", model_name="gone", task="misc",
                        suite=None, status="ok", served_model=None, cost_usd=None, ttft_ms=None, duration_ms=None,
                        output_tokens=None, output_per_m=Decimal("0.10"), run_at=r.run_at)
             for r in rows if r.model_id == "gone"]
    advice = advise(rows, stats, MODELS, KINDS)
    assert [a.kind for a in advice] == ["other"]
    assert advice[0].model_id == "gone" and advice[0].price_per_m == Decimal("0.10")
    assert advise(rows, [], MODELS, KINDS)[0].model_id == "r1"  # without its answers its price is unknown


def test_the_builtin_suite_messages_route_as_the_notes_did() -> None:
    suites = pytest.importorskip("workbench.suites")
    suite = next(e[0] for e in suites.list_suites() if e[0].id == "coding-2026")
    got = {t.id: classify(t.message).difficulty for t in suite.tasks}
    assert got == {"flatten": "easy", "race-condition": "easy", "dijkstra": "hard", "go-review": "medium",
                   "express-pagination": "medium"}
