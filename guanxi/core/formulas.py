"""Spreadsheet formula neutralisation (CSV injection), shared by every file the project writes
for people to open in a spreadsheet program and by the importers that read such files back."""

import re

# Spreadsheet programs read a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NEGATIVE_NUMBER = re.compile(r"-[0-9]+(\.[0-9]+)?", re.ASCII)


def neutralise_formula(value: str) -> str:
    """Prefix a single quote (the OWASP advice) to text a spreadsheet could evaluate, so it is
    shown as typed instead.

    Leading spaces are looked through because an importer that trims them (LibreOffice offers
    to) would otherwise find the formula behind them. A bare negative number is left alone: it
    cannot hold a formula, and quoting it would turn a number someone wants to add up into text.

    Phone numbers are shown in international form ('+86 139 **** 1111'), so the phones column
    nearly always gets the quote. That is on purpose rather than a side effect to design away:
    spreadsheets really do evaluate such text ('+1-202-555-0100' becomes a negative number,
    '+8613900001111' a number shown as 8.6139E+12), so the quote is also what keeps a number
    as it was written. Exporting phones without the '+' or in another spelling would give the
    export a third form of every number, different from the pages and the API; the importers
    strip the quote again (:func:`restore_formula`).
    """
    if value.lstrip(" ").startswith(FORMULA_PREFIXES) and not _NEGATIVE_NUMBER.fullmatch(value):
        return "'" + value
    if value.startswith("'") and neutralise_formula(value[1:]) != value[1:]:
        # Text that itself starts with a quote before a formula ("'=1") gets one more, so that
        # the importers, which take one quote off such a cell, give back the text as it was.
        return "'" + value
    return value


def restore_formula(value: str) -> str:
    """Undo exactly one :func:`neutralise_formula`: a quote followed by text that function would
    have quoted becomes that text, so an exported file, edited and imported again, stores what
    was exported: "'=1" is the text "=1", and "''=1" the text "'=1". Any other cell is kept as
    typed: a quote before a name ("'hello") or a bare negative number was not put there by an
    export."""
    if value.startswith("'") and neutralise_formula(value[1:]) == value:
        return value[1:]
    return value
