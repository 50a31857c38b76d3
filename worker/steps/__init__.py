"""The interpreter's step handlers, one module per family of step types, each handler registered with
`@step_handler` where it is written (worker.steps.context). Importing this package imports every module
in it: a new module here is a new family, with nothing to add elsewhere."""

from __future__ import annotations

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
