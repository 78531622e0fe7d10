"""The one exception type for mistakes a user can fix (bad input, bad options, missing files)."""


class SpcError(Exception):
    """A user-facing error: the CLI prints `spc: error: <message>` as one line and exits non-zero.

    The message should name the file, row, column and what was expected, where they apply.
    """

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
