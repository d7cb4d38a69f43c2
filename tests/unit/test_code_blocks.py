"""Code blocks of an answer: extraction, file names, diffs."""

from __future__ import annotations

from workbench.code_blocks import code_blocks, code_only, side_by_side, unified_diff

ANSWER = """Here you go:

```python
def flatten(items: list) -> list:
    return [x for xs in items for x in xs]
```

And in TypeScript:

~~~ts title="x"
export function dijkstra(g: Graph) {}
~~~

````
```nested``` stays inside
````

```go
func (s *Server) handle(w http.ResponseWriter) {
"""


def test_blocks_are_found_in_order_with_language_and_code():
    blocks = code_blocks(ANSWER)
    assert [(b.number, b.language) for b in blocks] == [(1, "python"), (2, "ts"), (3, ""), (4, "go")]
    assert blocks[0].code == "def flatten(items: list) -> list:\n    return [x for xs in items for x in xs]\n"
    assert blocks[2].code == "```nested``` stays inside\n"
    # an unclosed fence (a cut-off answer) runs to the end
    assert blocks[3].code.startswith("func (s *Server) handle")


def test_suggested_names_come_from_what_the_code_defines():
    names = [b.suggested_name() for b in code_blocks(ANSWER)]
    assert names == ["flatten.py", "dijkstra.ts", "snippet-3.txt", "handle.go"]
    assert code_blocks("```sh\n../../etc\n```")[0].suggested_name("ans") == "ans-1.sh"


def test_indented_fence_content_loses_the_fence_indent():
    assert code_blocks("  ```py\n  x = 1\n    y = 2\n  ```\n")[0].code == "x = 1\n  y = 2\n"


def test_code_only_joins_the_blocks():
    assert code_only("no code here") == ""
    assert code_only("```\na\n```\ntext\n```\nb\n```") == "a\n\nb\n"


def test_unified_and_side_by_side_diffs():
    a, b = "one\ntwo\nthree\n", "one\n2\nthree\nfour\n"
    assert unified_diff(a, b, "A", "B") == ["--- A", "+++ B", "@@ -1,3 +1,4 @@", " one", "-two", "+2", " three",
                                            "+four"]
    rows = side_by_side(a, b)
    assert [(r.left, r.right, r.tag) for r in rows] == [
        ("one", "one", "equal"), ("two", "2", "replace"), ("three", "three", "equal"), (None, "four", "insert")]
