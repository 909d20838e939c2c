"""Checks of the numbers given to ``guanxi`` commands, made before anything starts, so that a
number no command can use ends in one line naming the option and exit status 2 (as argparse's
own refusals do), never in a traceback or a run that does nothing."""

import math

from django.core.management.base import CommandError

BAD_INPUT = 2


def at_least(option: str, value: int, minimum: int) -> int:
    if value < minimum:
        raise CommandError(
            f"{option} must be at least {minimum}, not {value}.", returncode=BAD_INPUT
        )
    return value


def port_number(option: str, value: int) -> int:
    if not 1 <= value <= 65535:
        raise CommandError(f"{option} must be from 1 to 65535, not {value}.", returncode=BAD_INPUT)
    return value


def positive_seconds(option: str, value: float) -> float:
    # Zero or less would loop without waiting; NaN and infinity cannot be waited.
    if not 0 < value < math.inf:
        raise CommandError(
            f"{option} must be a positive number of seconds, not {value:g}.", returncode=BAD_INPUT
        )
    return value
