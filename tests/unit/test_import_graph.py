"""The import graph of the package has no circles, module by module (ARCHITECTURE.md), counting
function-local imports and those made only for type checking: a circle hidden in a function is
a circle all the same. The rooms' rules themselves are import-linter's (`lint-imports`)."""

from __future__ import annotations

import grimp


def circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_package_has_no_import_circles() -> None:
    graph = grimp.build_graph("workbench", exclude_type_checking_imports=False)
    assert len(graph.modules) > 50  # the whole package was read
    assert circles(graph) == []


def test_the_check_sees_a_circle() -> None:
    # Guard against a vacuous pass: the same search finds a circle added by hand.
    graph = grimp.build_graph("workbench", exclude_type_checking_imports=False)
    graph.add_import(importer="workbench.domain", imported="workbench.rounds")
    assert any("workbench.domain" in c and "workbench.rounds" in c for c in circles(graph))
