"""The Temporal contract: the names of Baton's workflows, activities, updates, queries and signal, and
the data a run carries between the API, the interpreter workflow and its activities.

Plain dataclasses (Temporal's default converter handles them) so fields can be added compatibly: a new
field always has a default, so histories recorded before it still decode.

Split by idea (names, runs, walk, jobs); every name stays importable from `core.contract`.
"""

from core.contract.jobs import *  # noqa: F403
from core.contract.names import *  # noqa: F403
from core.contract.runs import *  # noqa: F403
from core.contract.walk import *  # noqa: F403
