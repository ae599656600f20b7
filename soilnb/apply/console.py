"""What the ``soilnb`` command says: its exit statuses and its one-line messages on stderr."""
from __future__ import annotations

import sys

EXIT_OK, EXIT_PARTIAL, EXIT_FAILED, EXIT_INTERNAL = 0, 1, 2, 3


def say(message: str) -> None:
    """One line on stderr, ``soilnb: ...`` (whitespace folded), through tqdm so that a progress bar is not torn."""
    from tqdm.auto import tqdm  # noqa: PLC0415 - imported by the commands that draw bars; --help needs none

    tqdm.write("soilnb: " + " ".join(str(message).split()), file=sys.stderr)
