"""Reads of customer data, always through the visibility rule."""

from typing import TYPE_CHECKING, NamedTuple

from django.core.exceptions import PermissionDenied
from django.db import OperationalError, connection, transaction
from django.db.models import F, Lookup, Prefetch, Q, QuerySet, Value

from guanxi.core.locking import ActorDeactivated, key_share_active_users

from .masked_phone_search import masked_terms
from .models import Customer, CustomFieldDefinition, MarketingConsent
from .search import (
    OrganisationMarksOccur,
    TokenMatch,
    normalise,
    parse_query,
    without_legal_forms,
)
from .validation import has_control_characters
from .visibility import NOTHING, VIEW, customer_scope, organisation_scope

if TYPE_CHECKING:
    from .history import CustomerHistory


def access_customer(user, customer_id, action: str = VIEW, *, for_update: bool = False) -> Customer:
    """Fetch one customer through ``user``'s scope for ``action``.

    Raises ``Customer.DoesNotExist`` when the user may not even see it (so its existence is not
    revealed) and ``PermissionDenied`` when they may see it but not do ``action`` to it.
    """
    try:
        pk = int(customer_id)
    except (TypeError, ValueError):
        raise Customer.DoesNotExist from None
    queryset = Customer.objects.visible_to(user, action)
    if for_update:
        # The acting user first, as a deactivation locks them and then the customers they own:
        # locked after the customer (by the database, as the audit row naming them is written),
        # a user saving their own customer as they were deactivated held the customer the
        # deactivation waited for while waiting for the user it held, and one of the two was
        # broken off as a deadlock. A deactivation under way is waited for; whoever it made
        # inactive may no longer write anything, and is told so.
        if (
            user is not None
            and user.is_authenticated
            and user.pk not in key_share_active_users([user.pk])
        ):
            raise ActorDeactivated
        queryset = queryset.select_for_update()
    try:
        return queryset.get(pk=pk)
    except Customer.DoesNotExist:
        if action != VIEW and Customer.objects.visible_to(user, VIEW).filter(pk=pk).exists():
            raise PermissionDenied from None
        raise


def customer_list_for_user(user, *, filters: dict | None = None) -> QuerySet[Customer]:
    """Customers ``user`` may see, narrowed by the list filters (all optional)."""
    queryset = Customer.objects.visible_to(user, VIEW)
    filters = filters or {}
    query = (filters.get("q") or "").strip()
    if query:
        queryset = queryset.filter(
            search_matches(
                query,
                phones_masked=not user.may_view_sensitive(),
                organisations_in_sight=organisation_scope(user, VIEW),
            )
        )
    for name in (
        "kind",
        "lifecycle_stage",
        "relationship_level",
        "source_channel",
        "party_type",
        "industry",
        "region",
    ):
        value = filters.get(name)
        if value:
            queryset = queryset.filter(**{name: value})
    if filters.get("owner_id"):
        queryset = queryset.filter(owner_id=filters["owner_id"])
    if filters.get("unowned"):
        queryset = queryset.filter(owner__isnull=True)
    if filters.get("owner_inactive"):
        queryset = queryset.filter(owner__is_active=False)
    if filters.get("tag"):
        queryset = queryset.filter(tags__name=filters["tag"])
    if filters.get("organization_id"):
        # Only the people of an organisation the user may see: listing those of one out of
        # their sight would tell them which of the people they see belong to it, and its
        # number, which no page or answer gives them (``organisations_in_sight``).
        organisation = Customer.objects.visible_to(user, VIEW).filter(pk=filters["organization_id"])
        queryset = queryset.filter(organization_id__in=organisation.values("pk"))
    if filters.get("updated_since"):
        queryset = queryset.filter(updated_at__gte=filters["updated_since"])
    return queryset


def search_matches(
    query: str, *, phones_masked: bool, organisations_in_sight: Q, legal_forms: bool = False
) -> Q:
    """Customers whose search tokens match every word of ``query`` (see ``customers.search``):
    names and their fragments, pinyin and initials, phone fragments of four or more digits,
    emails, tags and external ids, answered from the database's search index, and people by
    the name of their organisation. The legal forms of company names in ``query`` are left out
    unless ``legal_forms``.

    ``organisations_in_sight`` is whoever searches, as ``visibility.organisation_scope`` puts
    it: a person is found by words only their organisation's name holds when that organisation
    is in their sight. Otherwise a search for the name of an organisation out of sight would
    tell which of the people in sight belong to it, which no page or answer does
    (:func:`organisations_in_sight`). Required, as ``phones_masked``.

    ``phones_masked`` is for a searcher who sees phone numbers masked (not
    ``user.may_view_sensitive()``): their digits then match a phone only where the mask shows
    it, or as the whole number (see ``customers.masked_phone_search``), lest searching for the
    hidden digits reveal them. Required, so that no caller forgets to say.

    A query with nothing searchable in it (only punctuation, say) matches no one.
    """
    terms = parse_query(query, legal_forms=legal_forms)
    if not legal_forms:
        terms = without_legal_forms(terms)
    if not terms:
        return NOTHING
    if phones_masked:
        terms = [*terms, *masked_terms(terms)]
    found = Q(TokenMatch(terms, organisation_marks=True))
    if organisations_in_sight == Q():
        return found
    # The index finds the people whose own tokens or organisation marks match; a person whose
    # organisation is out of sight must match by their own tokens. Every test reads the row
    # the index found and nothing else, cheapest first: no organisation; no mark of the query
    # in the text at all (a substring test: most searches, for names, numbers and addresses,
    # end there); the organisation's account manager, which the row carries; and last the
    # tokens matched again without the marks (the text made a tsvector again).
    # No test reads the organisation's row: PostgreSQL prices a subquery in a filter on every
    # row the plan might read, and with one it gave up walking the newest customers until a
    # page is full for fetching and sorting every match (a rep's 南京 on a million customers:
    # 92 ms where the walk takes 8), and answered an EXISTS by hashing every customer in scope.
    return found & (
        Q(organization__isnull=True)
        | ~Q(OrganisationMarksOccur(terms))
        | organisations_in_sight
        | Q(TokenMatch(terms))
    )


def customer_detail_for_user(user, customer_id) -> Customer:
    customer = access_customer(user, customer_id, VIEW)
    return (
        _with_its_page(Customer.objects.filter(pk=customer.pk))
        .prefetch_related(organisations_in_sight(user))
        .get()
    )


def organisations_in_sight(user, path: str = "organization") -> Prefetch:
    """A prefetch of the organisations of the customers read with it (at ``path``) that
    ``user`` may see, each as its person's ``organization_in_sight``: None for a person whose
    organisation is out of ``user``'s sight, whose name is then not theirs to learn (pages and
    answers show the person's own company text, ``Customer.company_in_sight``). One query for
    all the customers read, as prefetching the organisations themselves costs."""
    return Prefetch(
        path,
        queryset=Customer.objects.visible_to(user, VIEW).only("id", "name", "party_type"),
        to_attr="organization_in_sight",
    )


def organisation_in_sight_of(user, customer: Customer) -> Customer | None:
    """``customer``'s organisation if ``user`` may see it (see :func:`organisations_in_sight`),
    read now unless it was read with the customer."""
    if not customer.organization_id:
        return None
    if hasattr(customer, "organization_in_sight"):
        return customer.organization_in_sight
    return (
        Customer.objects.visible_to(user, VIEW)
        .filter(pk=customer.organization_id)
        .only("id", "name", "party_type")
        .first()
    )


def _with_its_page(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """``customers`` with everything a customer's page shows read with them: the people named
    on it, contact details, tags and consents (with who recorded each)."""
    return customers.select_related("owner", "organization", "created_by").prefetch_related(
        "phones",
        "emails",
        "addresses",
        "tags",
        Prefetch("consents", queryset=MarketingConsent.objects.select_related("recorded_by")),
    )


def organization_people_for_user(user, organization: Customer) -> QuerySet[Customer]:
    """The people of an organisation that ``user`` may see."""
    return (
        Customer.objects.visible_to(user, VIEW)
        .filter(organization=organization)
        .prefetch_related("phones", "emails")
        .order_by("name", "id")
    )


class CustomerPermissions:
    """What ``user`` may do to one customer they can see, for showing the right buttons.

    Each answer comes from the visibility rule; the services check again when the action is
    actually taken."""

    def __init__(self, user, customer: Customer):
        from guanxi.accounts.roles import DELETING_ROLES

        from .visibility import CHANGE, INTERACT

        scope = Customer.objects.filter(pk=customer.pk)
        self.can_change = scope.filter(customer_scope(user, CHANGE)).exists()
        self.can_interact = scope.filter(customer_scope(user, INTERACT)).exists()
        self.can_delete = self.can_change and (user.is_superuser or user.role in DELETING_ROLES)
        self.can_reveal = user.may_view_sensitive()


def customer_permissions_for_user(user, customer: Customer) -> CustomerPermissions:
    return CustomerPermissions(user, customer)


# The organisation look-up walks the organisations in name order for at most this long (ms);
# then it reads at most LOOKUP_CANDIDATES matches from the search index and sorts those.
LOOKUP_WALK_MS = 100
LOOKUP_CANDIDATES = 1000
QUERY_CANCELED = "57014"


def organization_lookup_for_user(user, query: str, *, limit: int = 8) -> list[Customer]:
    """Organisations matching ``query`` that ``user`` can see, for linking a person to one, in
    name order: the first ones by name, or, for a word that more than ``LOOKUP_CANDIDATES``
    organisations match and whose first matches by name are far to find, some of them in name
    order, after any named exactly as typed (typing on narrows them down)."""
    query = (query or "").strip()
    if not query:
        return []
    matching = customer_list_for_user(user, filters={"q": query, "party_type": "organization"})
    in_name_order = matching.only("id", "name", "region").order_by("name", "id")[:limit]
    # PostgreSQL answers by walking the name index until enough rows match. That is quick
    # when matches are common everywhere (two letters of pinyin), but the matches of a word
    # are seldom spread evenly over the alphabet (the organisations named after one city sit
    # together, a name only people have matches no organisation at all): 1 to 6 s with a
    # million customers. The search index, read without an order, is quick exactly then.
    found = listed_within(in_name_order, LOOKUP_WALK_MS)
    if found is not None:
        return found
    # Which matches the index gives first is its own affair, so the organisation whose whole
    # name was typed (one look-up in the name index) is put first: it may not be among them.
    exact = list(matching.filter(name=query).only("id", "name", "region").order_by("id")[:limit])
    candidates = matching.order_by().values("id", "name", "region")[:LOOKUP_CANDIDATES]
    sql, params = candidates.query.sql_with_params()
    # A subquery with a limit of its own, so the planner cannot make the sort a walk again.
    sampled = Customer.objects.raw(
        f"SELECT * FROM ({sql}) AS found ORDER BY name, id LIMIT %s",  # noqa: S608
        [*params, limit],
    )
    exact_ids = {c.pk for c in exact}
    return (exact + [c for c in sampled if c.pk not in exact_ids])[:limit]


def listed_within(queryset: QuerySet, milliseconds: int) -> list | None:
    """The rows of ``queryset``, or None when PostgreSQL takes longer than ``milliseconds``
    to answer (and gives up). The caller's own time limit applies again afterwards. Other
    databases have no such limit and always answer."""
    if connection.vendor != "postgresql":
        return list(queryset)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout')")
            (previous,) = cursor.fetchone()
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(milliseconds)])
            rows = list(queryset)
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
            return rows
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) != QUERY_CANCELED:
            raise
        return None


def reassignable_customer_count(user, *, owner_id: int | None) -> int:
    """How many customers a reassignment from ``owner_id`` (None: the unowned pool) would move
    when ``user`` performs it."""
    from .visibility import CHANGE

    queryset = Customer.objects.visible_to(user, CHANGE)
    if owner_id is None:
        return queryset.filter(owner__isnull=True).count()
    return queryset.filter(owner_id=owner_id).count()


def history_for_customer(*, customer: Customer, viewer) -> "CustomerHistory":
    """The history of a customer the caller fetched through the visibility rule for
    ``viewer``: its own audit rows and the past of the customers merged into it. Whoever may
    view the customer may read all of it, as they read the contacts and orders that merge moved
    over, but for decisions on possible duplicates they may not see."""
    from guanxi.dedup.selectors import customers_merged_into, pairs_hidden_from

    from .history import CustomerHistory

    merged = customers_merged_into(customer.pk)
    return CustomerHistory(
        customer_id=customer.pk,
        merged=merged,
        hidden_pairs=pairs_hidden_from(viewer, [customer.pk, *merged]),
    )


def inactive_owners_for_user(user) -> list[tuple]:
    """(user, count) of each account manager who is no longer active yet still owns customers
    ``user`` may hand over, most first: customers nobody is working, left from before
    deactivating handed them over (or restored from the recycle bin since)."""
    from django.db.models import Count

    from guanxi.accounts.models import User

    from .visibility import CHANGE

    counts = dict(
        Customer.objects.visible_to(user, CHANGE)
        .filter(owner__is_active=False)
        .values("owner_id")
        .annotate(count=Count("pk"))
        .values_list("owner_id", "count")
        .order_by()
    )
    owners = User.objects.in_bulk(list(counts))
    return sorted(
        ((owners[pk], count) for pk, count in counts.items()),
        key=lambda row: (-row[1], row[0].username),
    )


def customer_history_for_user(user, customer_id) -> "CustomerHistory":
    """The history of one customer ``user`` may see (see :func:`history_for_customer`);
    raises ``Customer.DoesNotExist`` otherwise, like :func:`access_customer`."""
    return history_for_customer(customer=access_customer(user, customer_id, VIEW), viewer=user)


def custom_field_definitions_for_user(user) -> QuerySet[CustomFieldDefinition]:
    """The active custom fields every customer has (the same for all signed-in staff)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return CustomFieldDefinition.objects.none()
    return CustomFieldDefinition.objects.filter(is_active=True)


def customer_summaries(customers: list[Customer], *, viewer) -> list[dict]:
    """The list API's view of a page of customers (already read through the visibility rule):
    their fields with organisation, owner, phones, emails and tag names attached. A person's
    organisation that ``viewer`` may not see is left out (null), as on the customer's page.

    One query of values for the whole page (:func:`page_details`). ``prefetch_related`` would
    give the same answer, but builds a queryset and a related manager per customer and
    relation, which for a page of fifty took longer than the queries themselves."""
    details = page_details(customers, viewer=viewer)
    rows = []
    for customer in customers:
        owner = customer.owner
        rows.append(
            {
                **{name: getattr(customer, name) for name in _SUMMARY_FIELDS},
                "organization": (
                    {
                        "id": customer.organization_id,
                        "name": details.organisations[customer.organization_id],
                    }
                    if customer.organization_id in details.organisations
                    else None
                ),
                "owner": (
                    {"id": owner.pk, "username": owner.username, "label": owner.label}
                    if owner is not None
                    else None
                ),
                "phones": details.phones.get(customer.pk, []),
                "emails": details.emails.get(customer.pk, []),
                "tags": details.tags.get(customer.pk, []),
            }
        )
    return rows


class PageDetails(NamedTuple):
    """What a list shows of a page of customers beyond their own columns, by customer id:
    phones (masked), emails and tag names in the order the customer's page shows them, and the
    names of the organisations the reader may see, by organisation id."""

    organisations: dict[int, str]
    phones: dict[int, list[dict]]
    emails: dict[int, list[dict]]
    tags: dict[int, list[str]]


# The kind of each row of :func:`page_details`' one query, in the order the rows come.
_PHONE, _EMAIL, _TAG, _ORGANISATION = range(4)


def page_details(customers: list[Customer], *, viewer) -> PageDetails:
    """The :class:`PageDetails` of ``customers`` (read through ``viewer``'s sight) in one query,
    a ``UNION ALL`` of the phones, the emails, the tags and the organisations in sight: four
    round trips were a good part of a search's time, each costing more than its rows. An
    organisation is asked about only when a person on the page belongs to one, and only if
    ``viewer`` may see it (``organisations_in_sight``)."""
    from guanxi.core.masking import mask_phone

    from .models import Email, Phone

    details = PageDetails({}, {}, {}, {})
    ids = [c.pk for c in customers]
    if not ids:
        return details
    parts = [
        _detail_rows(
            of_customers(Phone.objects.all(), ids), _PHONE, F("display"), F("label"), "is_primary"
        ),
        _detail_rows(
            of_customers(Email.objects.all(), ids), _EMAIL, F("address"), F("label"), "is_primary"
        ),
        _detail_rows(
            of_customers(Customer.tags.through.objects.all(), ids),
            _TAG,
            F("tag__name"),
            order=F("tag__name"),
            pk="tag_id",
        ),
    ]
    organisation_ids = {c.organization_id for c in customers if c.organization_id}
    if organisation_ids:
        parts.append(
            _detail_rows(
                Customer.objects.visible_to(viewer, VIEW).filter(pk__in=organisation_ids),
                _ORGANISATION,
                F("name"),
                customer="pk",
            )
        )
    # Each kind in the order the customer's page shows it: phones and emails primary first,
    # then as added; tags by name, compared as the database compares them.
    rows = (
        parts[0]
        .union(*parts[1:], all=True)
        .order_by("detail_kind", "-detail_primary", "detail_order", "detail_id")
    )
    for kind, customer_id, pk, text, label, is_primary, _order in rows:
        if kind == _PHONE:
            details.phones.setdefault(customer_id, []).append(
                {
                    "id": pk,
                    "number_masked": mask_phone(text),
                    "label": label,
                    "is_primary": is_primary,
                }
            )
        elif kind == _EMAIL:
            details.emails.setdefault(customer_id, []).append(
                {"id": pk, "address": text, "label": label, "is_primary": is_primary}
            )
        elif kind == _TAG:
            details.tags.setdefault(customer_id, []).append(text)
        else:
            details.organisations[pk] = text
    return details


def _detail_rows(
    rows: QuerySet,
    kind: int,
    text: F,
    label: F | None = None,
    is_primary: str | None = None,
    *,
    order: F | None = None,
    pk: str = "pk",
    customer: str = "customer_id",
) -> QuerySet:
    """``rows`` as the columns every part of :func:`page_details`' query shares."""
    return (
        rows.order_by()
        .annotate(
            detail_kind=Value(kind),
            detail_customer=F(customer),
            detail_id=F(pk),
            detail_text=text,
            detail_label=label if label is not None else Value(""),
            detail_primary=F(is_primary) if is_primary else Value(False),
            detail_order=order if order is not None else Value(""),
        )
        .values_list(
            "detail_kind",
            "detail_customer",
            "detail_id",
            "detail_text",
            "detail_label",
            "detail_primary",
            "detail_order",
        )
    )


def of_customers(rows, ids: list[int]):
    """``rows`` (of a table with a ``customer_id``) of the customers with these ids.

    On PostgreSQL the ids go as one array parameter (``customer_id = ANY(%s)``): named one by
    one (``customer_id IN (…)``, 2,000 parameters), building the lookup, quoting the query's
    parameters and planning it cost more of an export's processor time than the rows it
    fetched. SQLite has no arrays; it is given the list.

    No ids give ``rows.none()``, of the same shape, which reads nothing: an empty array is
    still sent to PostgreSQL, a round trip for no rows (SQLite's empty list never was)."""
    if not ids:
        return rows.none()
    if connection.vendor != "postgresql":
        return rows.filter(customer_id__in=ids)
    return rows.filter(_AnyOf(F("customer_id"), ids))


class _AnyOf(Lookup):
    """A column equal to one of a list of ids given as one array parameter (PostgreSQL)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        column, params = self.process_lhs(compiler, connection)
        # Written as the array's text, which the server reads: psycopg adapting a list of 2,000
        # numbers one by one cost more than the rest of the query's making.
        ids = "{" + ",".join(str(int(id_)) for id_ in self.rhs) + "}"
        return f"{column} = ANY(%s::bigint[])", (*params, ids)


def tag_names_by_customer(ids: list[int]) -> dict[int, list[str]]:
    """The tag names of each of these customers that has any, in name order."""
    tags: dict[int, list[str]] = {}
    for customer_id, name in of_customers(
        Customer.tags.through.objects.order_by("tag__name").values_list("customer_id", "tag__name"),
        ids,
    ):
        tags.setdefault(customer_id, []).append(name)
    return tags


_SUMMARY_FIELDS = (
    "id",
    "party_type",
    "name",
    "company",
    "job_title",
    "kind",
    "relationship_level",
    "lifecycle_stage",
    "industry",
    "region",
    "source_channel",
    "version",
    "created_at",
    "updated_at",
    "last_contacted_at",
)


def organisations_named(user, name: str, *, limit: int = 20) -> list[Customer]:
    """The organisations ``user`` may see whose name is ``name``, compared as the search
    compares text (case, width, accents, traditional or simplified characters).

    Candidates come from the search index (every name token) and an exact match on the stored
    name; only those whose normalised name equals the normalised ``name`` count.
    """
    if has_control_characters(name):
        return []
    wanted = normalise(name)
    organisations = Customer.objects.visible_to(user, VIEW).filter(
        party_type=Customer.PartyType.ORGANIZATION
    )
    candidates = {c.pk: c for c in organisations.filter(name=name).only("id", "name", "region")}
    # The legal form as given: without it, the few hundred candidates read could all be other
    # companies of the same name with another legal form.
    found = organisations.filter(
        search_matches(
            name,
            phones_masked=not user.may_view_sensitive(),
            organisations_in_sight=organisation_scope(user, VIEW),
            legal_forms=True,
        )
    )
    for candidate in found.only("id", "name", "region").order_by("name", "id")[:200]:
        candidates.setdefault(candidate.pk, candidate)
    matches = [c for c in candidates.values() if normalise(c.name) == wanted]
    return sorted(matches, key=lambda c: (c.name, c.pk))[:limit]


# The recycle bin lists the newest deletions first, served by a partial index on (deleted_at,
# id) over the deleted customers alone.
RECYCLE_BIN_ORDERINGS = {"-deleted_at": "deleted_at"}


def deleted_customers_for_user(user, *, query: str = "") -> QuerySet[Customer]:
    """The recycle bin: deleted customers (merged-away ones too), for those who may restore
    them, optionally narrowed by the customer search (``search_matches``, which finds deleted
    customers as it finds the others: their search text is kept). Anyone else is refused."""
    from .visibility import can_restore_customers

    if not can_restore_customers(user):
        raise PermissionDenied
    queryset = Customer.objects.filter(
        customer_scope(user, VIEW, deleted=True), deleted_at__isnull=False
    )
    query = (query or "").strip()
    if query:
        queryset = queryset.filter(
            search_matches(
                query,
                phones_masked=not user.may_view_sensitive(),
                organisations_in_sight=organisation_scope(user, VIEW),
            )
        )
    return queryset


def deleted_customer_detail_for_user(user, customer_id) -> Customer:
    """One customer of the recycle bin with everything its page shows (profile, contact details,
    consents) and who deleted it (see :func:`with_deletions`), for whoever may use the bin, to
    read before restoring it. Anyone else is refused (``PermissionDenied``) as the bin refuses
    them, whether or not the customer exists; a customer not in the bin (never deleted,
    restored meanwhile) raises ``Customer.DoesNotExist``, as one that does not exist does."""
    in_the_bin = deleted_customers_for_user(user)
    try:
        pk = int(customer_id)
    except (TypeError, ValueError):
        raise Customer.DoesNotExist from None
    customer = _with_its_page(in_the_bin.filter(pk=pk)).get()
    return with_deletions([customer])[0]


def with_deletions(customers: list[Customer]) -> list[Customer]:
    """Sets ``deleted_by`` (the user, or None for a deletion nobody signed in made) and
    ``merged_into`` and ``merge_id`` (the kept customer and the merge, while a merge that took
    the customer away stands; else None) on each of a
    page of deleted customers, in two queries however many they are. Who deleted a customer is
    read from its newest delete or merge audit row, the record a deletion always leaves."""
    from guanxi.audit.models import AuditEvent
    from guanxi.dedup.models import CustomerMerge

    ids = [customer.pk for customer in customers]
    deleted_by: dict[int, object] = {}
    events = (
        AuditEvent.objects.filter(
            customer_id__in=ids,
            object_type="customer",
            action__in=[AuditEvent.Action.DELETE, AuditEvent.Action.MERGE],
        )
        .filter(object_id=F("customer_id"))
        .select_related("actor")
        .order_by("customer_id", "-occurred_at", "-id")
    )
    for event in events:
        deleted_by.setdefault(event.customer_id, event.actor)
    merges = CustomerMerge.objects.filter(merged_id__in=ids, undone_at__isnull=True).select_related(
        "survivor"
    )
    standing = {merge.merged_id: merge for merge in merges}
    for customer in customers:
        merge = standing.get(customer.pk)
        customer.deleted_by = deleted_by.get(customer.pk)
        customer.merged_into = merge.survivor if merge else None
        customer.merge_id = merge.pk if merge else None
    return customers
