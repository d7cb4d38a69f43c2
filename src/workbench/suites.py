"""Task suites (C6): TOML files of tasks, where they are found, and what the rest will cost.

A suite file has a ``[suite]`` table (id, title, system, temperature, criteria) and
``[[tasks]]`` (id, title, prompt, optional code with its language, kind, optional reference).
Errors name the file, the task and the key, in one line::

    my.toml: tasks[3] (dijkstra): prompt: missing

Task numbers in messages count from 1, as a reader counts ``[[tasks]]`` blocks.

Suites come from three places: the built-in ones (package data ``workbench/data/suites``), the
user's (``<data dir>/suites/*.toml``, where a suite with a built-in's id replaces it), and any
path given on the command line.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from workbench.domain import ModelInfo
    from workbench.store.db import Store
    from workbench.tokens import TokenCounter

BUILTIN = "built-in"
USER = "user"
_ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
_KIND_RE = re.compile(r"[a-z][a-z0-9-]*")
_SUITE_KEYS = {"id", "title", "description", "system", "temperature", "criteria"}
_TASK_KEYS = {"id", "title", "prompt", "code", "language", "kind", "reference"}
_TOP_KEYS = {"suite", "tasks"}

# Output tokens assumed for a model that has no ok answer in the store yet. Coding answers in
# the notes' study ran from a short function (~300 tokens) to a whole Express endpoint with
# explanation (~1,200); 700 is the middle of that range.
DEFAULT_OUTPUT_TOKENS = 700


class SuiteError(ValueError):
    """A suite that cannot be found or read; the message is one line for the user."""


@dataclass(frozen=True)
class SuiteTask:
    """One ``[[tasks]]`` entry."""

    id: str
    title: str
    prompt: str
    kind: str
    language: str | None = None
    code: str | None = None
    reference: str | None = None  # path (or package resource) of a scorer's reference, e.g. a flaws list

    @property
    def message(self) -> str:
        """The text actually sent: the prompt, then the code in a fenced block with its language."""
        if not self.code:
            return self.prompt
        return f"{self.prompt}\n\n```{self.language or ''}\n{self.code.strip(chr(10))}\n```"

    def reference_text(self) -> str | None:
        """The reference file's text (None when the task has none or it cannot be read)."""
        if not self.reference:
            return None
        try:
            return Path(self.reference).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            return None


@dataclass(frozen=True)
class Suite:
    """A parsed suite file."""

    id: str
    title: str
    tasks: tuple[SuiteTask, ...]
    system: str = ""
    temperature: float | None = None
    criteria: tuple[str, ...] = ()
    description: str = ""
    path: str = ""  # where it was read from
    sha256: str = ""  # of the file's text: a session remembers which version it ran

    def task(self, task_id: str) -> SuiteTask:
        """The task with this id (KeyError if none)."""
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(task_id)


class SuiteEntry(NamedTuple):
    """One line of ``list_suites``: the suite, ``"built-in"`` or ``"user"``, and whether this
    user suite hides a built-in of the same id."""

    suite: Suite
    source: str
    shadows_builtin: bool = False


# --- parsing -----------------------------------------------------------------------------


def parse_suite(text: str, file: str, base_dir: Path | None = None) -> Suite:
    """Parse a suite file's text; ``file`` names it in errors, ``base_dir`` resolves references."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already ends with "(at line N, column M)"
        raise SuiteError(f"{file}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise SuiteError(f"{file}: {unknown[0]}: unknown key (a suite file has [suite] and [[tasks]])")
    head = data.get("suite")
    if not isinstance(head, dict):
        raise SuiteError(f"{file}: suite: missing [suite] table" if head is None else f"{file}: suite: must be a table")
    _reject_unknown(head, _SUITE_KEYS, file, "suite")
    suite_id = _req_str(head, "id", file, "suite")
    if not _ID_RE.fullmatch(suite_id):
        raise SuiteError(f"{file}: suite: id: {suite_id!r} must be lower-case letters, digits, '.', '-' or '_'")
    title = _req_str(head, "title", file, "suite")
    system = _opt(head, "system", str, file, "suite") or ""
    temperature = _opt(head, "temperature", (int, float), file, "suite")
    if temperature is not None and not 0 <= temperature <= 2:
        raise SuiteError(f"{file}: suite: temperature: must be between 0 and 2")
    criteria = _opt(head, "criteria", list, file, "suite") or []
    if not all(isinstance(c, str) and c.strip() for c in criteria):
        raise SuiteError(f"{file}: suite: criteria: must be a list of names")
    description = _opt(head, "description", str, file, "suite") or ""

    raw_tasks = data.get("tasks")
    if raw_tasks is None or raw_tasks == []:
        raise SuiteError(f"{file}: tasks: missing (add at least one [[tasks]] block)")
    if not isinstance(raw_tasks, list):
        raise SuiteError(f"{file}: tasks: must be an array of [[tasks]] tables")
    tasks: list[SuiteTask] = []
    seen: dict[str, int] = {}
    for n, table in enumerate(raw_tasks, start=1):
        task = _parse_task(n, table, file, base_dir)
        if task.id in seen:
            raise SuiteError(f"{file}: tasks[{n}] ({task.id}): id: duplicate of tasks[{seen[task.id]}]")
        seen[task.id] = n
        tasks.append(task)
    return Suite(
        id=suite_id, title=title, tasks=tuple(tasks), system=system,
        temperature=None if temperature is None else float(temperature), criteria=tuple(criteria),
        description=description, path=file, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _parse_task(n: int, table: Any, file: str, base_dir: Path | None) -> SuiteTask:
    where = f"tasks[{n}]"
    if not isinstance(table, dict):
        raise SuiteError(f"{file}: {where}: must be a table")
    if isinstance(table.get("id"), str) and table["id"].strip():
        where = f"tasks[{n}] ({table['id']})"
    _reject_unknown(table, _TASK_KEYS, file, where)
    task_id = _req_str(table, "id", file, where)
    if not _ID_RE.fullmatch(task_id):
        raise SuiteError(f"{file}: {where}: id: must be lower-case letters, digits, '.', '-' or '_'")
    kind = _req_str(table, "kind", file, where)
    if not _KIND_RE.fullmatch(kind):
        raise SuiteError(f"{file}: {where}: kind: {kind!r} must be one lower-case word "
                         "(structural, algorithmic, review, feature …)")
    code = _opt(table, "code", str, file, where)
    language = _opt(table, "language", str, file, where)
    reference = _opt(table, "reference", str, file, where)
    if reference is not None:
        reference = _resolve_reference(reference, base_dir, file, where)
    return SuiteTask(
        id=task_id, title=_req_str(table, "title", file, where), prompt=_req_str(table, "prompt", file, where),
        kind=kind, language=language.strip() if language else None, code=code if code and code.strip() else None,
        reference=reference,
    )


def _resolve_reference(value: str, base_dir: Path | None, file: str, where: str) -> str:
    path = Path(value).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise SuiteError(f"{file}: {where}: reference: no such file {str(path)!r}")
    return str(path)


def _reject_unknown(table: dict, known: set[str], file: str, where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise SuiteError(f"{file}: {where}: {unknown[0]}: unknown key (known: {', '.join(sorted(known))})")


def _req_str(table: dict, key: str, file: str, where: str) -> str:
    value = table.get(key)
    if value is None:
        raise SuiteError(f"{file}: {where}: {key}: missing")
    if not isinstance(value, str):
        raise SuiteError(f"{file}: {where}: {key}: must be a string, not {_toml_type(value)}")
    if not value.strip():
        raise SuiteError(f"{file}: {where}: {key}: is empty")
    return value


def _opt(table: dict, key: str, types: Any, file: str, where: str) -> Any:
    value = table.get(key)
    if value is None:
        return None
    allowed = types if isinstance(types, tuple) else (types,)
    # bool is an int subclass: `temperature = true` must not pass as 1.
    if not isinstance(value, allowed) or isinstance(value, bool):
        wanted = {str: "a string", list: "a list"}.get(allowed[0], "a number")
        raise SuiteError(f"{file}: {where}: {key}: must be {wanted}, not {_toml_type(value)}")
    return value


def _toml_type(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array",
             dict: "a table"}
    return names.get(type(value), type(value).__name__)


def load_suite_file(path: Path) -> Suite:
    """Read and parse one suite file."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise SuiteError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{path}: cannot read the file ({exc})") from None
    return parse_suite(text, str(path), path.parent)


# --- where suites are found ---------------------------------------------------------------


def user_suites_dir() -> Path:
    """Where a user's own suites live: ``<data dir>/suites``."""
    from workbench.paths import data_dir

    return data_dir() / "suites"


def builtin_suites() -> list[Suite]:
    """The suites that ship with the workbench."""
    folder = resources.files("workbench.data").joinpath("suites")
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            # Package data is on the file system in every install the workbench supports
            # (wheels are unpacked), so a reference resolves to a readable path.
            out.append(parse_suite(entry.read_text("utf-8"), f"{BUILTIN}:{entry.name}", Path(str(folder))))
    return out


def scan_suites() -> tuple[list[SuiteEntry], list[str]]:
    """Every suite that can be used, plus one-line problems with user files that cannot.

    A broken user file is reported, not fatal: the other suites stay usable.
    """
    user, unreadable, duplicates = _scan_user()
    builtins = builtin_suites()
    builtin_ids = {s.id for s in builtins}
    entries = [SuiteEntry(s, BUILTIN) for s in builtins if s.id not in user]
    entries += [SuiteEntry(s, USER, s.id in builtin_ids) for s in user.values()]
    return entries, unreadable + duplicates


def _scan_user() -> tuple[dict[str, Suite], list[str], list[str]]:
    """User suites by id, and the problems: files that cannot be read, ids defined twice."""
    user: dict[str, Suite] = {}
    unreadable: list[str] = []
    duplicates: list[str] = []
    folder = user_suites_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            try:
                suite = load_suite_file(path)
            except SuiteError as exc:
                unreadable.append(str(exc))
                continue
            if suite.id in user:
                duplicates.append(f"{path}: suite id {suite.id!r} is also defined by {user[suite.id].path}; "
                                  "using that one")
                continue
            user[suite.id] = suite
    return user, unreadable, duplicates


def list_suites() -> list[SuiteEntry]:
    """Built-in and user suites; a user suite with a built-in's id replaces it (and says so)."""
    return scan_suites()[0]


def looks_like_path(name: str) -> bool:
    """True when a SUITE argument names a file rather than an id."""
    return name.endswith(".toml") or "/" in name or "\\" in name or name.startswith(".")


def find_suite(name_or_path: str) -> Suite:
    """The suite with this id (user first, then built-in), or the suite file at this path."""
    if looks_like_path(name_or_path):
        return load_suite_file(Path(name_or_path).expanduser())
    entries = list_suites()
    for entry in entries:
        if entry.suite.id == name_or_path:
            return entry.suite
    known = ", ".join(sorted(e.suite.id for e in entries)) or "none"
    hint = _unreadable_hint(name_or_path, _scan_user()[1])
    raise SuiteError(f"no suite {name_or_path!r} (known: {known}; or give a path to a .toml file){hint}")


def _unreadable_hint(suite_id: str, unreadable: list[str]) -> str:
    """The problem of the file that should hold ``suite_id`` (named after it, or declaring it),
    else how many files could not be read: the first broken file is often another suite's."""
    folder = user_suites_dir()
    declares = re.compile(rf"^\s*id\s*=\s*[\"']{re.escape(suite_id)}[\"']", re.M)
    for problem in unreadable:
        path = Path(problem.split(": ", 1)[0])
        if path.parent != folder:
            continue
        try:
            text = path.read_text("utf-8", errors="replace")
        except OSError:
            text = ""
        if path.stem == suite_id or declares.search(text):
            return f"; note: {problem}"
    if len(unreadable) == 1:  # it may hold the suite asked for
        return f"; note: {unreadable[0]}"
    if not unreadable:
        return ""
    return f"; note: {len(unreadable)} suite files in {folder} could not be read (`workbench suite list` says why)"


# --- cost of the rest ----------------------------------------------------------------------


@dataclass(frozen=True)
class CostEstimate:
    """What the remaining calls should cost: the known part, and what could not be priced."""

    known_usd: Decimal
    unknown: tuple[str, ...]  # e.g. "deepseek-r1: input price unknown", "m: input & output price unknown"
    per_model: dict[str, Decimal | None]  # None when part of that model's cost is unknown
    output_tokens: dict[str, tuple[int, str]]  # model id → (typical output tokens, where from)
    calls: int

    @property
    def complete(self) -> bool:
        """True when every part had a price."""
        return not self.unknown

    def text(self) -> str:
        """One line: '≈ $0.0123 for 6 call(s)', with the unpriced parts named."""
        why = f" ({'; '.join(self.unknown[:2])}{' …' if len(self.unknown) > 2 else ''})" if self.unknown else ""
        return f"{money(self.known_usd, bool(self.unknown), '≈ ')}{why} for {self.calls} call(s)"


def money(known: Decimal, unknown: bool, prefix: str = "") -> str:
    """A sum whose parts may lack a price: '$0.0123', '$0.0123 + unknown', or 'unknown'."""
    from workbench.catalog import format_usd

    if unknown and not known:
        return "unknown"  # "$0 + unknown" would read as nearly free
    return prefix + format_usd(known) + (" + unknown" if unknown else "")


def estimate_remaining_cost(
    store: Store | None,
    suite: Suite,
    models: Sequence[ModelInfo],
    remaining_steps: Iterable[Any],
    counter: TokenCounter,
) -> CostEstimate:
    """Estimate the cost of the remaining steps.

    ``remaining_steps`` holds ``(task_id, repeat)`` pairs (every model is asked) or the
    ``Step``s of ``store.suite_sessions.next_steps`` (only the models it lists). Per call:
    the task message's estimated input tokens × input price + typical output tokens × output
    price. Typical output is the median ``output_tokens`` of the model's past ok answers to
    this task, else to any task, else DEFAULT_OUTPUT_TOKENS. An unknown price leaves that part
    out of ``known_usd`` and names it in ``unknown``: it is never counted as zero.
    """
    from workbench.catalog import cost_of
    from workbench.meter import estimate_prompt_tokens

    by_id = {m.id: m for m in models}
    steps = [(s[0], s[1], tuple(s[2]) if len(s) > 2 else tuple(by_id)) for s in remaining_steps]
    typical: dict[tuple[str, str | None], int] = {}
    if store is not None:
        from workbench.store.suite_sessions import typical_output_tokens

        typical = typical_output_tokens(store, list(by_id), sorted({s[0] for s in steps}))
    known = Decimal(0)
    unknown: dict[str, None] = {}
    per_model: dict[str, Decimal | None] = {m: Decimal(0) for m in by_id}
    out_used: dict[str, tuple[int, str]] = {}
    calls = 0
    for task_id, _repeat, model_ids in steps:
        task = suite.task(task_id)
        input_tokens = estimate_prompt_tokens(counter, task.message, suite.system)
        for model_id in model_ids:
            model = by_id.get(model_id)
            if model is None:
                continue
            calls += 1
            if (model_id, task_id) in typical:
                output, source = typical[(model_id, task_id)], "median of this task's past answers"
            elif (model_id, None) in typical:
                output, source = typical[(model_id, None)], "median of past answers"
            else:
                output, source = DEFAULT_OUTPUT_TOKENS, "default"
            out_used.setdefault(model_id, (output, source))
            cost = cost_of(model.prices, input_tokens, output, 0)
            known += cost.known_usd
            if cost.unknown_parts:
                unknown[f"{model_id}: {' & '.join(cost.unknown_parts)} price unknown"] = None
                per_model[model_id] = None
            elif per_model[model_id] is not None:
                per_model[model_id] += cost.known_usd  # type: ignore[operator]
    return CostEstimate(known_usd=known, unknown=tuple(unknown), per_model=per_model, output_tokens=out_used,
                        calls=calls)
