"""The one error type for bad user input."""


class ParameterError(ValueError):
    """A user-supplied value (flag, file, config field) is invalid; the message names it."""
