"""Warming Dask workers for a sweep: imports and starting regions once per worker, before its first run."""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

#: What a worker needs before its first run: Dask's worker, the model (Mesa, pandas, scipy, networkx under it),
#: its results and the sweep engine (pyarrow under the store). A local cluster's fork server imports them once
#: (:func:`gpsim.sweep.engine.start_fork_server`); other workers import them in :func:`warm`.
WORKER_MODULES = (
    "distributed.nanny",
    "distributed.worker",
    "gpsim.model",
    "gpsim.results",
    "gpsim.sweep.engine",
    "gpsim.sweep.warm",
)
#: What the fork server imports before any worker exists: the libraries under :data:`WORKER_MODULES`, not
#: gpsim itself. A fork server lives as long as the process that started it, so gpsim modules imported there
#: would be the code as it was then: a model edited in a notebook and swept again would run its old code on
#: the workers without a word. Each worker imports gpsim from disk (about 0.1 s) as it warms.
FORK_SERVER_MODULES = (
    "distributed.nanny",
    "distributed.worker",
    "mesa",
    "mesa.discrete_space",
    "pandas",
    "scipy.spatial",
    "networkx",
    "pyarrow.parquet",
)


def warm(params: list[dict[str, Any]]) -> None:
    """Import the model and build the regions of ``params`` in this process, before its first run.

    A problem here is left for the run itself to report (as a failed run with its message), so warming never
    stops a sweep.
    """
    import importlib

    import gpsim
    from gpsim.params import Params

    for name in WORKER_MODULES:  # already loaded in a worker forked from a local cluster's fork server
        importlib.import_module(name)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # data notes reach the user from the runs themselves
        for values in params:
            with contextlib.suppress(Exception):
                gpsim.region_for(Params.from_mapping(values))


class WarmWorker(WorkerPlugin):
    """A Dask worker plugin that warms each worker once (imports, regions) when it joins, before its first task.

    Without it each worker pays the imports and region builds inside its first run while the scheduler waits
    for that run; with it the work happens while the cluster is starting, on every worker at once, and a worker
    that joins later warms itself the same way. The work runs in a thread so the worker keeps answering the
    scheduler meanwhile.
    """

    name = "gpsim-warm"

    def __init__(self, params: list[dict[str, Any]]) -> None:
        self.params = params

    async def setup(self, worker) -> None:
        import asyncio

        await asyncio.get_running_loop().run_in_executor(None, warm, self.params)
