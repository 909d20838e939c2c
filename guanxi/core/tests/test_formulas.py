import pytest

from guanxi.core.formulas import neutralise_formula, restore_formula


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "+86 139 0000 1111",
        "-VIP",
        "@name",
        "\tx",
        "\rx",
        "  =SUM(A1)",
        # Text that starts with a quote itself, before a formula or before another such quote.
        "'=1",
        "''+1",
        "'hello",
        "'-5",
        " '=1",
    ],
)
def test_restoring_undoes_exactly_one_neutralisation(text):
    assert restore_formula(neutralise_formula(text)) == text


@pytest.mark.parametrize("cell", ["'hello", "'-5", "'", "hello", "-5", " '=1", "'''"])
def test_a_quote_an_export_would_not_have_written_is_kept(cell):
    assert restore_formula(cell) == cell
