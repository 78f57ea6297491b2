"""The project's code location, for tests that need a run held in Dagster's STARTING status.

A run is STARTING from the moment the daemon launches it until its run worker has loaded the code
location and begun the job. Importing this module waits while the file named by
HUBSPOT_DEALS_TEST_HOLD_RUN_START exists: the code servers imported it when the stack started
(no file then), so only the workers of runs launched while a test keeps the file wait, genuinely
in start-up, for as long as the test needs and however fast or slow the machine is.
"""

import os
import time
from pathlib import Path

HOLD = os.environ.get("HUBSPOT_DEALS_TEST_HOLD_RUN_START")
MAX_HOLD_SECONDS = 600  # a test that died holding the file does not hang its workers forever

if HOLD:
    deadline = time.monotonic() + MAX_HOLD_SECONDS
    while Path(HOLD).exists() and time.monotonic() < deadline:
        time.sleep(0.1)

from hubspot_deals.defs.definitions import defs  # noqa: E402

__all__ = ["defs"]
