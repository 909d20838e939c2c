"""What each named user of the test company (``guanxi/conftest.py``) may do to each of its
customers, written out by hand. The visibility tests and the authorization walk both check the
code against this table, so it must never be computed from the code it checks."""

ALL = frozenset(
    {
        "rep_customer",
        "teammate_customer",
        "rep_b_customer",
        "west_customer",
        "agent_customer",
        "unowned_customer",
    }
)
EAST = frozenset({"rep_customer", "teammate_customer", "rep_b_customer", "unowned_customer"})
NONE = frozenset()

# user: (may view, may log interactions on, may change)
EXPECTED = {
    "admin": (ALL, ALL, ALL),
    "analyst": (ALL, NONE, NONE),
    "manager": (EAST, EAST, EAST),
    "manager_west": (frozenset({"west_customer", "unowned_customer"}),) * 3,
    "rep": (
        frozenset({"rep_customer", "teammate_customer"}),
        frozenset({"rep_customer", "teammate_customer"}),
        frozenset({"rep_customer"}),
    ),
    "teammate": (
        frozenset({"rep_customer", "teammate_customer"}),
        frozenset({"rep_customer", "teammate_customer"}),
        frozenset({"teammate_customer"}),
    ),
    "rep_b": (frozenset({"rep_b_customer"}),) * 3,
    "rep_west": (frozenset({"west_customer"}),) * 3,
    "agent": (ALL, ALL, frozenset({"agent_customer"})),
}
