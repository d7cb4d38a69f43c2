"""Plain, frozen data shared by the core, the CLI and the UI."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any

PROVIDER_KINDS = ("openai", "anthropic", "gemini", "ollama")


#: Anthropic's published prompt-cache multipliers of the input price: a write to the 5-minute
#: cache costs 1.25× the input price, a write to the 1-hour cache 2×. They price cache writes
#: where no cache-write price is known (``Prices.cache_write_price``).
CACHE_WRITE_5M_FACTOR = Decimal("1.25")
CACHE_WRITE_1H_FACTOR = Decimal(2)


@dataclass(frozen=True)
class Prices:
    """US$ per million tokens; None means the price is not known (never zero by default).

    ``cache_write_per_m`` is the price of a token written to a 5-minute prompt cache. Tiered
    prices (Gemini 2.5 Pro, Claude Sonnet 4 with a 1M context): a request whose input is more
    than ``above_tokens`` tokens is billed entirely at the ``*_above_per_m`` prices — each one
    not given is unknown, except the cached and cache-write ones, which follow the same
    fallbacks as below the threshold (``tier_for``).
    """

    input_per_m: Decimal | None = None
    output_per_m: Decimal | None = None
    cached_input_per_m: Decimal | None = None
    cache_write_per_m: Decimal | None = None
    above_tokens: int | None = None
    input_above_per_m: Decimal | None = None
    output_above_per_m: Decimal | None = None
    cached_input_above_per_m: Decimal | None = None
    cache_write_above_per_m: Decimal | None = None

    def tier_for(self, input_tokens: int) -> Prices:
        """The flat prices in force for a request with this many input tokens (cache reads and
        writes included): these prices, or the above-threshold ones past ``above_tokens``."""
        if self.above_tokens is None or input_tokens <= self.above_tokens:
            return Prices(self.input_per_m, self.output_per_m, self.cached_input_per_m, self.cache_write_per_m)
        return Prices(self.input_above_per_m, self.output_above_per_m, self.cached_input_above_per_m,
                      self.cache_write_above_per_m)

    def cache_write_price(self, one_hour: bool = False) -> Decimal | None:
        """Per million tokens written to the prompt cache (flat prices, see ``tier_for``).

        A 5-minute write costs ``cache_write_per_m`` where it is known; otherwise, and for
        1-hour writes always, Anthropic's published multiplier of the input price (1.25× for
        the 5-minute cache, 2× for the 1-hour one). None when that input price is unknown.
        """
        if not one_hour and self.cache_write_per_m is not None:
            return self.cache_write_per_m
        if self.input_per_m is None:
            return None
        return self.input_per_m * (CACHE_WRITE_1H_FACTOR if one_hour else CACHE_WRITE_5M_FACTOR)


@dataclass(frozen=True)
class ProviderConfig:
    """One `[providers.NAME]` table."""

    name: str
    kind: str
    base_url: str
    api_key_env: str | None = None
    api_key: str | None = field(default=None, repr=False)
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    #: Retries of a call that failed before its answer began (providers/retry.py): 2 = 3 tries.
    max_retries: int = 2
    #: Extra CA certificates (PEM file) trusted for this provider, e.g. a company gateway's.
    ca_bundle: str | None = None

    @property
    def is_local(self) -> bool:
        """True for a server on this machine, which may need no key."""
        from urllib.parse import urlsplit

        host = (urlsplit(self.base_url).hostname or "").lower()
        return host in {"localhost", "127.0.0.1", "::1"} or host.startswith("127.")


@dataclass(frozen=True)
class ModelInfo:
    """One `[[models]]` entry: what `-m` takes and what it costs."""

    id: str
    provider: str
    name: str
    upstream: str
    prices: Prices = Prices()
    routed: bool = False
    vendor: str | None = None
    archetype: str | None = None
    temperature: float | None = None


@dataclass(frozen=True)
class Defaults:
    """The `[defaults]` table: what a round uses unless told otherwise."""

    models: tuple[str, ...] = ("deepseek-v4-flash", "qwen3-coder-30b", "deepseek-r1")
    temperature: float = 0.2
    system: str = ""
    max_tokens: int | None = None


@dataclass(frozen=True)
class UiSettings:
    """The `[ui]` table."""

    theme: str = "workbench-dark"
    flush_hz: float | None = None  # None: 20 Hz locally, 8 Hz over SSH (see `frames_per_second`)
    #: "process": streams are read in a process of their own, off the screen's core
    #: (providers/reader_process.py); "inline": on the app's event loop (one process less);
    #: "auto": a process when this machine lets us use two cores or more.
    stream_reader: str = "auto"

    def frames_per_second(self, environ: dict[str, str] | None = None) -> float:
        """How often streamed text is drawn. Over SSH every repaint crosses the link: at 4 panes
        × 100 tok/s, 20 Hz wrote ~65 kB/s to the terminal and 8 Hz about half that
        (benchmarks/terminal_bytes.py), while text still moves smoothly."""
        import os

        if self.flush_hz is not None:
            return self.flush_hz
        env = os.environ if environ is None else environ
        return 8.0 if ("SSH_CONNECTION" in env or "SSH_TTY" in env) else 20.0

    def reads_in_a_process(self, cpus: int | None = None) -> bool:
        """True when streams are read in a process of their own. On one core that process would
        take its turns from the screen and add the cost of the pipe, so "auto" keeps them inline."""
        if self.stream_reader != "auto":
            return self.stream_reader == "process"
        if cpus is None:
            import os

            cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return cpus >= 2


@dataclass(frozen=True)
class RoutingPolicy:
    """The `[routing]` table: the model id `workbench route` picks for each difficulty.

    The default is the field notes' production map: the cheap workhorse for easy work, the
    code-specialised model for medium work, the reasoning model for hard (algorithmic) work.
    """

    easy: str = "deepseek-v4-flash"
    medium: str = "qwen3-coder-30b"
    hard: str = "deepseek-r1"

    def model_for(self, difficulty: str) -> str:
        """The model id for 'easy', 'medium' or 'hard'."""
        if difficulty not in ("easy", "medium", "hard"):
            raise ValueError(f"unknown difficulty {difficulty!r}")
        return str(getattr(self, difficulty))


@dataclass(frozen=True)
class ChatRequest:
    """One prompt as sent to one model."""

    prompt: str
    system: str = ""
    temperature: float | None = 0.2
    max_tokens: int | None = None


class AnswerStatus(str, Enum):
    """How an answer ended (I4)."""

    STREAMING = "streaming"
    OK = "ok"
    ERROR = "error"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


# --- why a stream ended: the vendors' finish reasons in one spelling ---
# An answer cut off at a limit still ends ``ok`` (I4 fixes the statuses): its text is the
# model's, only incomplete. The finish reason says so, in one spelling whatever the vendor.

#: The answer reached the output-token cap (OpenAI and Ollama "length", Anthropic "max_tokens",
#: Gemini "MAX_TOKENS").
FINISH_LENGTH = "length"
#: The answer filled the model's context window (Anthropic "model_context_window_exceeded").
FINISH_CONTEXT = "context_window"
FINISH_STOP = "stop"
_FINISH_SPELLINGS = {
    "length": FINISH_LENGTH, "max_tokens": FINISH_LENGTH,
    "model_context_window_exceeded": FINISH_CONTEXT,
    "stop": FINISH_STOP, "end_turn": FINISH_STOP, "stop_sequence": FINISH_STOP,
    "tool_use": "tool_calls", "function_call": "tool_calls",
}
#: What a cut-off answer is called on screen and in reports, by normalised finish reason.
CUT_OFF_LABELS = {FINISH_LENGTH: "cut off (max tokens)", FINISH_CONTEXT: "cut off (context window)"}
#: The mark of cut-off answers where a table has no room for words (history, leaderboard).
CUT_OFF_MARK = "✂"


def normalise_finish_reason(raw: object) -> str | None:
    """A provider's finish reason in one spelling: "length" for every vendor's token cap, "stop"
    for a natural end, others lower-cased (at most 40 characters); None when none was given."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    word = raw.strip().lower()
    return _FINISH_SPELLINGS.get(word, word[:40])


def cut_off_label(finish_reason: str | None) -> str | None:
    """'cut off (max tokens)' for an answer stopped at a limit, None for any other end."""
    return CUT_OFF_LABELS.get(finish_reason or "")


# --- what the store records of a round (rounds.RoundRecorder writes them) ---


@dataclass(frozen=True)
class RunRecord:
    """A round as recorded: its prompt and parameters, and the task, suite and session step it
    belongs to (``kind``, ``session_id`` and ``repeat`` tie it to one step of a suite session)."""

    prompt: str
    system: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    task: str | None = None
    suite: str | None = None
    source: str = "tui"
    blind: bool = False
    kind: str | None = None
    session_id: int | None = None
    repeat: int = 0


@dataclass(frozen=True)
class AnswerStart:
    """An answer as it starts to stream: who is asked, at what price and temperature."""

    model: ModelInfo
    temperature: float | None
    blind_label: str | None = None  # "A", "B" … in a blind round


@dataclass(frozen=True)
class AnswerPartial:
    """The text so far of an answer still streaming (a checkpoint)."""

    answer_id: int
    text: str
    reasoning: str


@dataclass(frozen=True)
class AnswerFinal:
    """An answer as it ended, whatever the status: text, tokens, cost, timings, error."""

    status: AnswerStatus
    text: str
    reasoning: str
    served_model: str | None
    input_tokens: int | None
    output_tokens: int | None
    reasoning_tokens: int | None
    cached_input_tokens: int | None
    tokens_exact: bool
    cost_usd: Decimal | None
    #: every input token's cost: uncached, cache reads and cache writes (input + output = cost)
    input_cost_usd: Decimal | None
    output_cost_usd: Decimal | None
    reported_cost_usd: Decimal | None
    ttft_ms: int | None
    duration_ms: int | None
    error_kind: str | None = None
    error_message: str | None = None
    http_status: int | None = None
    #: tokens written to the prompt cache (part of input_tokens), of which the 1-hour ones
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    #: the parts of input_cost_usd spent on cache reads and on cache writes
    cached_input_cost_usd: Decimal | None = Decimal(0)
    cache_write_cost_usd: Decimal | None = Decimal(0)
    #: why the cost is what it is when no usage says so, e.g. "not billed: failed before the answer"
    billing_note: str | None = None
    #: why the stream ended, normalised (``normalise_finish_reason``); "length": cut off at max tokens
    finish_reason: str | None = None

    @property
    def cut_off(self) -> bool:
        """True when the answer stopped at a limit (max tokens, context window), not at its end."""
        return cut_off_label(self.finish_reason) is not None
