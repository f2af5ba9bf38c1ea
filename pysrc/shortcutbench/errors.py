"""Errors a user can fix. The CLI prints them as one line and exits with code 2."""


class UsageError(ValueError):
    """Bad input (arguments, files, data): the message names the problem in one line."""
