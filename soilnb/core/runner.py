"""``run_all.sh``'s notebook executor: one Jupyter kernel for the whole run, each notebook from a clean namespace.

    python -m soilnb.core.runner --cwd notebooks [-p NAME VALUE ...] < requests

reads one request a line, ``NOTEBOOK<TAB>OUTPUT<TAB>LOG``, executes NOTEBOOK with papermill into OUTPUT (its
parameters: ``-p`` pairs, typed as papermill's command line types them) with papermill's messages and any error in
LOG, and answers ``ok`` or ``failed`` on a line of standard output (nothing else is written there: the kernel's and
the libraries' own output go to standard error).

Why not ``papermill`` once per notebook, as before: each call started Python and papermill, then a kernel that
imported torch, pandas, scikit-learn, matplotlib and soilnb again, about 8 s of a 2-core machine per notebook
(notebook 02's import cell alone 4.7 s), over a minute of the default run. Here the kernel starts once, and before
every notebook it is brought back to what a fresh kernel gives that notebook, as far as its results go
(:data:`RESET`): an empty namespace (IPython's ``%reset -f``), execution counts from 1, no open figures; the
environment variables, working directory, ``sys.path``, warning filters and pandas options it started with
(recorded after importing the notebooks' packages, whose imports set some of them); torch's thread count, default
dtype, TF32 and determinism settings; a new random seed for torch's global CPU generator (a new process draws one;
soilnb never draws from it unseeded); the download hosts that failed forgotten; joblib's reusable worker processes
ended. What stays: imported modules, soilnb's in-process caches keyed by content (file hashes, DFT bases), and
torch's own warn-once messages, not shown again. The default tables are byte-identical to those of a kernel per
notebook (checked when this came in); the tests run each notebook in a kernel of its own under nbval. A kernel
that died is replaced by a new one for the next request (run_all.sh itself stops at the first failed notebook).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import papermill as pm
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from papermill.cli import _resolve_type

#: Run in the kernel before each notebook (``__soilnb_reset(notebook)``); the first call records the fresh state.
RESET = r'''
def __soilnb_reset(notebook):
    import gc, os, sys, types, warnings
    state = sys.modules.get("_soilnb_fresh_kernel")
    if state is None:
        # the notebooks' stack first, so that what these packages set on import is part of the state kept
        import joblib, matplotlib.pyplot, pandas, scipy.special, sklearn, torch  # noqa
        import soilnb.apply, soilnb.report, soilnb.stages  # noqa
        state = types.ModuleType("_soilnb_fresh_kernel")
        state.environ, state.cwd, state.path = dict(os.environ), os.getcwd(), list(sys.path)
        state.filters = list(warnings.filters)
        state.torch = _soilnb_torch_flags(torch)
        sys.modules[state.__name__] = state
    import pandas, torch
    sys.modules["matplotlib.pyplot"].close("all")
    for key in set(os.environ) - set(state.environ):
        del os.environ[key]
    for key, value in {**state.environ, "SOILNB_NOTEBOOK": notebook}.items():
        if os.environ.get(key) != value:
            os.environ[key] = value
    os.chdir(state.cwd)
    sys.path[:] = state.path
    warnings.filters[:] = state.filters
    warnings.onceregistry.clear()
    getattr(warnings, "_filters_mutated", lambda: None)()      # forget which warnings were shown already
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pandas.reset_option("all")
    threads, dtype, tf32, cudnn_tf32, benchmark, deterministic, precision, algorithms = state.torch
    torch.set_num_threads(threads)
    torch.set_default_dtype(dtype)
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32, cudnn_tf32
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = benchmark, deterministic
    torch.set_float32_matmul_precision(precision)
    torch.use_deterministic_algorithms(algorithms)
    torch.seed()                          # a new random seed for the CPU generator, as a new process draws one
    realdata = sys.modules.get("soilnb.data.realdata")
    if realdata is not None:
        realdata.UNREACHABLE.clear()      # hosts that failed are tried again, as by a new process
    executor = getattr(sys.modules.get("joblib.externals.loky.reusable_executor"), "_executor", None)
    if executor is not None:              # worker processes start anew, from this notebook's state
        executor.shutdown(wait=True)
    ip = get_ipython()
    ip.run_line_magic("reset", "-f")
    ip.execution_count = 1
    gc.collect()


def _soilnb_torch_flags(torch):
    return (torch.get_num_threads(), torch.get_default_dtype(), torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
            torch.get_float32_matmul_precision(), torch.are_deterministic_algorithms_enabled())
'''


def resolve_type(value: str):
    """A ``-p`` value as papermill's command line reads it: True, False, None, an int, a float, else the string."""
    return _resolve_type(value)


class _Manager(AsyncKernelManager):
    """nbclient's kernel manager, remembering the clients it hands out: nbclient leaves open the client it makes
    for a kernel it does not own, so the runner closes them after each notebook."""

    def client(self, **kwargs):
        kc = super().client(**kwargs)
        self.__dict__.setdefault("_clients", []).append(kc)
        return kc

    def close_clients(self) -> None:
        for kc in self.__dict__.pop("_clients", []):
            kc.stop_channels()


class Runner:
    """One kernel (started in ``cwd`` on first use) and the notebooks executed in it."""

    def __init__(self, cwd: Path, parameters: dict, kernel_name: str = "python3"):
        self.cwd, self.parameters, self.kernel_name = Path(cwd), parameters, kernel_name
        self.km = None

    def _kernel(self):
        # the asynchronous manager, as nbclient's own: its client lets nbclient notice a kernel that died mid-cell
        if self.km is not None and run_sync(self.km.is_alive)():
            return self.km
        if self.km is not None:
            print("[runner] the kernel has died; starting a new one", file=sys.stderr)
            run_sync(self.km.cleanup_resources)()
        self.km = _Manager(kernel_name=self.kernel_name)
        # as nbclient starts its kernels: the notebooks' code is not written into the user's IPython history
        run_sync(self.km.start_kernel)(cwd=str(self.cwd), extra_arguments=["--HistoryManager.hist_file=:memory:"])
        return self.km

    @staticmethod
    async def _reset(km, notebook: str) -> None:
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=120)
        reply = await kc.execute_interactive(RESET + f"\n__soilnb_reset({notebook!r})\n", store_history=False,
                                             timeout=300, output_hook=lambda msg: None)
        if reply["content"]["status"] != "ok":
            c = reply["content"]
            raise RuntimeError(f"resetting the kernel failed: {c.get('ename')}: {c.get('evalue')}")

    def execute(self, notebook: Path, output: Path, log: Path) -> bool:
        """Execute one notebook; True when every cell ran, else False with the error in ``log``."""
        print(f"[runner] {Path(notebook).name}", file=sys.stderr, flush=True)   # heads its part of the kernel's log
        handler = logging.FileHandler(log, mode="w")
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("papermill")
        logger.addHandler(handler)
        km = None
        try:
            km = self._kernel()
            run_sync(self._reset)(km, Path(notebook).name)
            pm.execute_notebook(str(notebook), str(output), parameters=self.parameters, kernel_name=self.kernel_name,
                                progress_bar=False, km=km)
            return True
        except Exception as exc:     # noqa: BLE001 -- any failure is the notebook's, written where run_all.sh shows it
            handler.stream.write(f"{type(exc).__name__}: {exc}\n")
            return False
        finally:
            if km is not None:
                km.close_clients()
            logger.removeHandler(handler)
            handler.close()

    def close(self) -> None:
        if self.km is None:
            return
        if run_sync(self.km.is_alive)():
            run_sync(self.km.shutdown_kernel)()         # gracefully: the kernel's exit handlers run
        else:
            run_sync(self.km.cleanup_resources)()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m soilnb.core.runner", description=__doc__.split("\n\n")[0])
    ap.add_argument("--cwd", required=True, type=Path, help="the kernel's working directory")
    ap.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    ap.add_argument("--kernel", default="python3")
    args = ap.parse_args(argv)
    replies = os.fdopen(os.dup(1), "w", buffering=1)    # answers only; fd 1 (the kernel's too) goes to stderr
    os.dup2(2, 1)
    logging.getLogger("papermill").setLevel(logging.WARNING)
    runner = Runner(args.cwd, {name: resolve_type(value) for name, value in args.parameter}, args.kernel)
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                notebook, output, log = line.rstrip("\n").split("\t")
            except ValueError:
                print(f"[runner] not NOTEBOOK<TAB>OUTPUT<TAB>LOG: {line!r}", file=sys.stderr)
                replies.write("failed\n")
                continue
            replies.write("ok\n" if runner.execute(Path(notebook), Path(output), Path(log)) else "failed\n")
    finally:
        runner.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
