"""One wording for "must be one of": the check every option with a fixed set
of values goes through (config settings, method names, layouts). Light (no
third-party import), so that any module may use it."""

from __future__ import annotations

from collections.abc import Iterable


def check_choice(value, choices: Iterable, name: str, *, where: str | None = None, fix: str | None = None) -> None:
    """Refuse a value that is not one of `choices`.

    Parameters
    ----------
    value : what the user gave.
    choices : the valid values, in the order the message lists them.
    name : the option as the user writes it, e.g. "`clinical: fit`" or "`method`".
    where : what the option belongs to (a file and line, a site), put first.
    fix : a sentence on how to fix it, put last.

    Raises
    ------
    ValueError
        "`clinical: fit` must be one of firth, mle, got 'ols'", with `where`
        before it and `fix` after it.
    """
    choices = list(choices)
    if value in choices:
        return
    message = f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}"
    if where:
        message = f"{where}: {message}"
    if fix:
        message = f"{message}; {fix}"
    raise ValueError(message)
