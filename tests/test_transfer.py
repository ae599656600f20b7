"""The transfer benchmark's draws (notebook 09) computed in worker processes against the same draws in this process."""
import pandas as pd

from soilnb.core.config import get_config


def test_draws_in_worker_processes_equal_draws_in_this_process(real_dir):
    """Three draws of 10 local samples of NRW.42 and three of O.32 on the smoke transfer bundle: two loky workers
    (the default run's path, one queue for both sets) give the rows of one process, value for value, set by set
    and draw by draw in order."""
    from soilnb.apply import transfer

    b, library = transfer.transfer_bundle(get_config("smoke"))
    sets = ("NRW.42", "O.32")
    here = pd.DataFrame(transfer._sets_rows(sets, b, library, (10,), 3, 0, workers=1))
    there = pd.DataFrame(transfer._sets_rows(sets, b, library, (10,), 3, 0, workers=2))
    # per set: "none" per property, then per draw 2 adapted + 2 local_only rows
    assert list(zip(here["dataset"], here["repeat"])) == (
        [("NRW.42", 0)] * 2 + [("NRW.42", r) for r in range(3) for _ in range(4)]
        + [("O.32", 0)] * 2 + [("O.32", r) for r in range(3) for _ in range(4)])
    pd.testing.assert_frame_equal(here, there, check_exact=True)
