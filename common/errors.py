"""User-facing errors: the CLI prints them as one line and exits non-zero."""


class UserError(Exception):
    """A mistake the user can fix (bad argument, missing file, invalid config); shown as one line."""
