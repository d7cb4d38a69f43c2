"""Code blocks in an answer: find them, name a file for one, and diff two answers.

Coding models answer mostly in fenced code; copying, saving (`ask -x`, the `w` key) and
diffing work on these blocks. Pure functions: the TUI and `ask` share them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

# An opening fence: up to 3 spaces, ``` or ~~~ (3+), an info string; CommonMark closes it with
# the same character, at least as long, and nothing after it but spaces.
_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n`]*$")

EXTENSIONS = {
    "python": "py", "py": "py", "javascript": "js", "js": "js", "jsx": "jsx", "typescript": "ts", "ts": "ts",
    "tsx": "tsx", "go": "go", "golang": "go", "rust": "rs", "rs": "rs", "java": "java", "kotlin": "kt",
    "c": "c", "cpp": "cpp", "c++": "cpp", "csharp": "cs", "cs": "cs", "ruby": "rb", "rb": "rb", "php": "php",
    "swift": "swift", "bash": "sh", "sh": "sh", "shell": "sh", "zsh": "sh", "sql": "sql", "html": "html",
    "css": "css", "json": "json", "yaml": "yaml", "yml": "yaml", "toml": "toml", "xml": "xml",
    "markdown": "md", "md": "md", "dockerfile": "Dockerfile", "makefile": "Makefile", "lua": "lua", "r": "r",
    "scala": "scala", "dart": "dart", "elixir": "ex", "haskell": "hs", "diff": "diff",
}

# The first name a block defines: a good file name for it ("flatten.py").
_NAMES = (
    re.compile(r"^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)", re.M),
    re.compile(r"^\s*class\s+([A-Za-z_]\w*)", re.M),
    re.compile(r"^\s*(?:export\s+)?(?:async\s+)?function\s+([A-Za-z_$][\w$]*)", re.M),
    re.compile(r"^\s*func\s+(?:\([^)]*\)\s*)?([A-Za-z_]\w*)", re.M),
    re.compile(r"^\s*(?:pub\s+)?fn\s+([A-Za-z_]\w*)", re.M),
    re.compile(r"^\s*(?:export\s+)?(?:const|let)\s+([A-Za-z_$][\w$]*)\s*=", re.M),
)


@dataclass(frozen=True)
class CodeBlock:
    """One fenced block: its number (from 1), language as written (may be ''), and code."""

    number: int
    language: str
    code: str

    @property
    def extension(self) -> str:
        """The file extension for its language ('txt' when unknown)."""
        return EXTENSIONS.get(self.language.lower(), "txt")

    @property
    def preview(self) -> str:
        """The first non-blank line, for pickers."""
        return next((line.strip() for line in self.code.splitlines() if line.strip()), "(empty)")

    def suggested_name(self, fallback: str = "snippet") -> str:
        """A file name: the first thing the code defines, else ``fallback-N``, with the extension."""
        ext = self.extension
        if ext in ("Dockerfile", "Makefile"):
            return ext
        for pattern in _NAMES:
            match = pattern.search(self.code)
            if match:
                stem = match.group(1)
                break
        else:
            stem = f"{fallback}-{self.number}"
        return f"{_safe(stem)}.{ext}"


def _safe(stem: str) -> str:
    """A file-name stem without path separators or odd characters."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip(".-") or "snippet"


def code_blocks(markdown: str) -> list[CodeBlock]:
    """Every fenced code block, in order. An unclosed fence runs to the end (a cut-off answer)."""
    blocks: list[CodeBlock] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        if not match:
            i += 1
            continue
        fence, language = match.group(1), match.group(2)
        indent = len(lines[i]) - len(lines[i].lstrip(" "))
        body: list[str] = []
        i += 1
        closer = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        while i < len(lines) and not closer.match(lines[i]):
            line = lines[i]
            # CommonMark: remove up to the fence's own indentation from each content line
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
            i += 1
        i += 1
        blocks.append(CodeBlock(len(blocks) + 1, language, "\n".join(body) + ("\n" if body else "")))
    return blocks


def code_only(markdown: str) -> str:
    """The code blocks of an answer, one after another (what `ask -x` prints)."""
    return "\n".join(block.code for block in code_blocks(markdown))


def unified_diff(a: str, b: str, a_name: str, b_name: str, context: int = 3) -> list[str]:
    """Unified diff lines of two texts (no trailing newlines)."""
    return [line.rstrip("\n") for line in difflib.unified_diff(
        a.splitlines(), b.splitlines(), fromfile=a_name, tofile=b_name, n=context, lineterm="")]


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side diff: left and right text (None: no line) and the change."""

    left: str | None
    right: str | None
    tag: str  # equal | replace | delete | insert


def side_by_side(a: str, b: str) -> list[DiffRow]:
    """Rows for a side-by-side view: matching lines aligned, changes paired."""
    left, right = a.splitlines(), b.splitlines()
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [DiffRow(left[i], right[j], tag) for i, j in zip(range(i1, i2), range(j1, j2))]
            continue
        span = max(i2 - i1, j2 - j1)
        for k in range(span):
            li = left[i1 + k] if i1 + k < i2 else None
            rj = right[j1 + k] if j1 + k < j2 else None
            rows.append(DiffRow(li, rj, tag if (li is not None and rj is not None) else
                                ("delete" if rj is None else "insert")))
    return rows
