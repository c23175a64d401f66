"""The one exception class of tally_engine."""

from __future__ import annotations


class TallyError(Exception):
    """An evaluation that could not be done, and gave no result.

    Raised for a missing or non-numeric column, null values (unless
    ``skip_nulls=True``), a ``tally`` executable that cannot be found or run,
    and ``tally`` exiting with an error on the driver or on an executor (the
    message then carries tally's own ``tally: error: ...`` line).

    Attributes:
        partition: the index of the partition where the error happened, when
            it happened in one (the first such partition in index order).
    """

    def __init__(self, message: str, *, partition: int | None = None) -> None:
        super().__init__(message)
        self.partition = partition
