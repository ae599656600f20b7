"""The transfer benchmark's draws (notebook 09) computed in worker processes against the same draws in this process."""
import pandas as pd

from soilnb.core.config import get_config


def test_draws_in_worker_processes_equal_draws_in_this_process(real_dir):
    """Four draws each of 10 and 25 local samples of NRW.42 and of 10 of O.32 (whose 32 samples leave too few to
    score after 25: no such draw) on the smoke transfer bundle: two loky workers (the default run's path, one queue
    for both sets, batches of one and of two draws) give the rows of one process, value for value, set by set and
    draw by draw in order."""
    from soilnb.apply import transfer

    b, library = transfer.transfer_bundle(get_config("smoke"))
    sets = ("NRW.42", "O.32")
    here = pd.DataFrame(transfer._sets_rows(sets, b, library, (10, 25), 4, 0, workers=1))
    there = pd.DataFrame(transfer._sets_rows(sets, b, library, (10, 25), 4, 0, workers=2))
    # per set: "none" per property, then per draw 2 adapted + 2 local_only rows
    draws = lambda name, ks: [(name, k, r) for k in ks for r in range(4) for _ in range(4)]  # noqa: E731
    assert list(zip(here["dataset"], here["k"], here["repeat"])) == (
        [("NRW.42", 0, 0)] * 2 + draws("NRW.42", (10, 25)) + [("O.32", 0, 0)] * 2 + draws("O.32", (10,)))
    pd.testing.assert_frame_equal(here, there, check_exact=True)
