"""The console's first-load budget: the JavaScript a browser fetches to draw the first page (the entry
scripts index.html names and the chunks they import statically, not the ones loaded on demand such as the
canvas), gzipped, from the committed build in api/static/console. Prints the figure; exits 1 over budget.

    .venv/bin/python -m bench.console_bundle
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

BUILD = Path(__file__).parents[1] / "api" / "static" / "console"
BUDGET_KB = 300.0
# Static imports between Vite chunks (`import{a as b}from"./x.js"`, `import"./x.js"`); dynamic `import()`
# calls are on-demand chunks and do not count.
STATIC_IMPORT = re.compile(r"""(?:^|[;\s}])import\s*(?:[\w{},*\s$]+from\s*)?["']\./([\w.-]+\.js)["']""")
ENTRY = re.compile(
    r"""<(?:script[^>]+src|link[^>]+rel="modulepreload"[^>]+href)="/console/assets/([\w.-]+\.js)\""""
)


def first_load(build: Path) -> dict[str, int]:
    """Every script of the first load and its gzipped size in bytes."""
    assets = build / "assets"
    pending = ENTRY.findall((build / "index.html").read_text())
    sizes: dict[str, int] = {}
    while pending:
        name = pending.pop()
        if name in sizes:
            continue
        code = (assets / name).read_bytes()
        sizes[name] = len(gzip.compress(code, compresslevel=9, mtime=0))
        pending += STATIC_IMPORT.findall(code.decode())
    return sizes


def main() -> int:
    sizes = first_load(BUILD)
    on_demand = [p.name for p in (BUILD / "assets").glob("*.js") if p.name not in sizes]
    total_kb = sum(sizes.values()) / 1024
    for name, size in sorted(sizes.items()):
        print(f"  {name}: {size / 1024:.1f} KB gzipped")
    print(f"console first load: {total_kb:.1f} KB of JavaScript gzipped (budget {BUDGET_KB:.0f} KB)")
    print(f"loaded on demand, not counted: {', '.join(sorted(on_demand)) or 'nothing'}")
    if total_kb > BUDGET_KB:
        print("OVER BUDGET")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
