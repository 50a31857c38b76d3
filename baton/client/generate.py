"""Writes the blocking client's resources (baton/client/blocking/) from the async ones
(baton/client/resources/): `python -m baton.client.generate` after changing a resource; a test fails
while the committed files differ from what this makes.

Why generated code (the unasync approach of httpx and elasticsearch-py) rather than wrappers made at
import: help(), IDEs and mypy then read each blocking method's real signature, docstring and return type.
Each public method of a resource becomes a plain method with the same parameters (annotations and
defaults copied from the source; evaluated, not postponed, so help() shows `str` rather than `'str'`) that
runs the async call on the client's Portal; one answering an AsyncIterator answers an Iterator instead.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
SOURCES = HERE / "resources"
TARGETS = HERE / "blocking"
WIDTH = 110
FIRST_PARTY = {"activities", "api", "baton", "core", "integrations", "worker"}


@dataclass
class Source:
    """A resource module as read: its text, its tree, and the names its imports bring."""

    name: str
    text: str
    tree: ast.Module

    def segment(self, node: ast.AST) -> str:
        found = ast.get_source_segment(self.text, node)
        assert found is not None
        return found

    def imported(self) -> dict[str, str]:
        """name -> the module it is imported from."""
        names: dict[str, str] = {}
        for node in self.tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__":
                for alias in node.names:
                    names[alias.asname or alias.name] = node.module
        return names


def render(source: Source) -> str:
    classes = [
        node
        for node in source.tree.body
        if isinstance(node, ast.ClassDef) and any(getattr(b, "id", None) == "Resource" for b in node.bases)
    ]
    used: set[str] = set()
    bodies = [_render_class(source, node, used) for node in classes]
    imports = _imports(source, used)
    header = (
        f'"""The blocking {", ".join(node.name for node in classes)}: generated from '
        f"baton/client/resources/{source.name}.py\nby baton/client/generate.py (do not edit; run "
        f'`python -m baton.client.generate`)."""\n\n'
    )
    return header + imports + "\n\n" + "\n\n".join(bodies)


def _render_class(source: Source, node: ast.ClassDef, used: set[str]) -> str:
    lines = [f"class {node.name}(Blocking[aio.{node.name}]):"]
    if ast.get_docstring(node) is not None:
        lines.extend(["    " + source.segment(node.body[0]), ""])
    methods = [
        item
        for item in node.body
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and not item.name.startswith("_")
    ]
    for index, method in enumerate(methods):
        if index:
            lines.append("")
        lines.extend(_render_method(source, method, used))
    return "\n".join(lines) + "\n"


def _render_method(
    source: Source, method: ast.FunctionDef | ast.AsyncFunctionDef, used: set[str]
) -> list[str]:
    args = method.args
    params: list[str] = []
    forwarded: list[str] = []

    def declare(arg: ast.arg, default: ast.expr | None) -> str:
        text = arg.arg
        if arg.annotation is not None:
            text += ": " + source.segment(arg.annotation)
            used.update(_names(arg.annotation))
        if default is not None:
            text += (" = " if arg.annotation is not None else "=") + source.segment(default)
            used.update(_names(default))
        return text

    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        params.append(declare(arg, default))
        if index:
            forwarded.append(arg.arg)
        if args.posonlyargs and arg is args.posonlyargs[-1]:
            params.append("/")
    if args.vararg is not None:
        params.append("*" + declare(args.vararg, None))
        forwarded.append("*" + args.vararg.arg)
    elif args.kwonlyargs:
        params.append("*")
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        params.append(declare(arg, kw_default))
        forwarded.append(f"{arg.arg}={arg.arg}")
    if args.kwarg is not None:
        params.append("**" + declare(args.kwarg, None))
        forwarded.append("**" + args.kwarg.arg)

    assert method.returns is not None, f"{method.name} has no return annotation"
    returns = source.segment(method.returns)
    streams = returns.startswith("AsyncIterator[")
    if streams:
        returns = "Iterator[" + returns.removeprefix("AsyncIterator[")
        used.add("Iterator")
    used.update(name for name in _names(method.returns) if name != "AsyncIterator")

    lines = _signature(method.name, params, returns)
    docstring = ast.get_docstring(method, clean=False)
    if docstring is not None:
        lines.append("        " + source.segment(method.body[0]))
    runner = "iterate" if streams else "run"
    one_line = f"        return self._portal.{runner}(self._inner.{method.name}({', '.join(forwarded)}))"
    if len(one_line) <= WIDTH:
        return [*lines, one_line]
    return [
        *lines,
        f"        return self._portal.{runner}(",
        f"            self._inner.{method.name}(",
        *(f"                {item}," for item in forwarded),
        "            )",
        "        )",
    ]


def _signature(name: str, params: list[str], returns: str) -> list[str]:
    """The `def` line, or one parameter a line when it does not fit (black's magic trailing comma)."""
    one_line = f"    def {name}({', '.join(params)}) -> {returns}:"
    if len(one_line) <= WIDTH:
        return [one_line]
    return [f"    def {name}(", *(f"        {param}," for param in params), f"    ) -> {returns}:"]


def _names(node: ast.AST) -> set[str]:
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a quoted annotation
        names |= _names(ast.parse(node.value, mode="eval"))
    return names


def _imports(source: Source, used: set[str]) -> str:
    """The imports the generated module needs, sorted as ruff's isort sorts them."""
    wanted: dict[str, set[str]] = {}
    for name, module in source.imported().items():
        if name in used:
            wanted.setdefault(module, set()).add(name)
    if "Iterator" in used:
        wanted.setdefault("collections.abc", set()).add("Iterator")
    wanted.setdefault("baton.client.portal", set()).add("Blocking")
    wanted.setdefault("baton.client.resources", set()).add(f"{source.name} as aio")
    sections: dict[int, list[str]] = {0: [], 1: [], 2: []}
    for module in sorted(wanted, key=str.lower):
        top = module.split(".")[0]
        section = 2 if top in FIRST_PARTY else 0 if top in sys.stdlib_module_names else 1
        names = sorted(wanted[module], key=_isort_key)
        line = f"from {module} import {', '.join(names)}"
        if len(line) > WIDTH:
            line = f"from {module} import (\n" + "".join(f"    {n},\n" for n in names) + ")"
        sections[section].append(line)
    return "\n\n".join("\n".join(lines) for lines in sections.values() if lines) + "\n"


def _isort_key(name: str) -> tuple[int, str]:
    """isort's order by type: CONSTANTS, then Classes, then functions and modules."""
    bare = name.split(" ")[0]
    kind = 0 if bare.isupper() and len(bare) > 1 else 1 if bare[:1].isupper() else 2
    return kind, bare


def generated() -> dict[Path, str]:
    """Each blocking module's path and the text it should have."""
    out: dict[Path, str] = {}
    for path in sorted(SOURCES.glob("*.py")):
        if path.name == "__init__.py":
            continue
        text = path.read_text()
        out[TARGETS / path.name] = render(Source(path.stem, text, ast.parse(text)))
    out[TARGETS / "__init__.py"] = (
        '"""The blocking client\'s resources, generated from baton/client/resources/ by '
        'baton/client/generate.py."""\n'
    )
    return out


def main() -> None:
    TARGETS.mkdir(exist_ok=True)
    for path, text in generated().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            sys.stdout.write(f"wrote {path.relative_to(HERE.parent.parent)}\n")


if __name__ == "__main__":
    main()
