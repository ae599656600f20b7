"""The transfer benchmark's draws (notebook 09) computed in worker processes against the same draws in this process."""
import pandas as pd

from soilnb.core.config import get_config


def test_draws_in_worker_processes_equal_draws_in_this_process(real_dir):
    """Four draws of 10 local samples of NRW.42 on the smoke transfer bundle: two loky workers (the default run's
    path) give the rows of one process, value for value and in the same order."""
    from soilnb.apply import transfer

    b, library = transfer.transfer_bundle(get_config("smoke"))
    here = pd.DataFrame(transfer._set_rows("NRW.42", b, library, (10,), 4, 0, workers=1))
    there = pd.DataFrame(transfer._set_rows("NRW.42", b, library, (10,), 4, 0, workers=2))
    assert len(here) == 2 + 4 * 4                  # "none" per property, then per draw 2 adapted + 2 local_only
    assert list(here["repeat"]) == [0, 0] + [r for r in range(4) for _ in range(4)]
    pd.testing.assert_frame_equal(here, there, check_exact=True)
