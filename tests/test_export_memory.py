"""A large xlsx export streams: 200,000 rows take hardly more memory than a thousand."""

from __future__ import annotations

import pytest
from benchmarks._xlsx_memory import xlsx_memory


@pytest.mark.slow
def test_two_hundred_thousand_rows_go_out_in_constant_memory() -> None:
    memory = xlsx_memory(200_000)
    # Held in memory, 1.4 million cells would take hundreds of MB; streamed, a few at most.
    assert memory.peak_mb - memory.warm_mb < 20, memory
