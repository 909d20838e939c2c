"""``guanxi demo-data`` against the real database (SQLite or PostgreSQL)."""

import datetime as dt
import os
import stat
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Max
from django.utils import timezone

from guanxi.accounts.models import Team, User
from guanxi.accounts.roles import Role
from guanxi.audit.models import AuditEvent
from guanxi.core.crypto import decrypt_text, lookup_hash
from guanxi.core.masking import mask_id_number
from guanxi.core.phones import parse_phone
from guanxi.customers.models import Customer, Phone
from guanxi.customers.search import build_search_text
from guanxi.customers.services import customer_create
from guanxi.customers.validation import check_id_number
from guanxi.demo.credentials import credentials_path, read_credentials
from guanxi.demo.orders import BUYING_STAGES
from guanxi.interactions.models import Interaction
from guanxi.interactions.services import interaction_log
from guanxi.orders.models import Invoice, Order, Payment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def demo_data(*args: str) -> str:
    out = StringIO()
    call_command("demo_data", *args, "--verbosity", "0", stdout=out)
    return out.getvalue()


def test_every_role_with_teams_leads_and_permissions():
    demo_data("--customers", "50")
    users = {u.username: u for u in User.objects.all()}
    assert {u.role for u in users.values()} == set(Role.values)
    assert {"admin", "manager", "rep", "agent", "analyst", "rep12"} <= set(users)
    assert sum(u.role == Role.SALES_REP for u in users.values()) >= 12
    admin = users["admin"]
    assert admin.is_staff and admin.is_superuser and admin.role == Role.ADMIN
    assert users["manager"].has_perm("accounts.view_sensitive_data")
    assert not users["rep"].has_perm("accounts.view_sensitive_data")
    assert any(not u.display_name.isascii() for u in users.values())
    assert any(u.display_name.isascii() for u in users.values())
    teams = list(Team.objects.all())
    assert {t.customer_sharing for t in teams} == set(Team.Sharing.values)
    for team in teams:
        assert team.lead is not None and team.lead.team_id == team.pk


def test_credentials_file_is_private_and_opens_every_account(data_dir):
    output = demo_data("--customers", "10")
    path = credentials_path()
    assert path.parent == data_dir
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    credentials = read_credentials()
    assert {c.username for c in credentials} == set(User.objects.values_list("username", flat=True))
    for item in credentials:
        user = User.objects.get(username=item.username)
        assert user.role == item.role
        assert user.check_password(item.password)
        assert f"{item.username}" in output and item.password in output
    # The address `make demo` serves on: port 8000 unless PORT says otherwise.
    port = os.environ.get("PORT", "8000")
    assert f"http://127.0.0.1:{port}/" in output

    # A second run keeps the passwords.
    before = path.read_text()
    demo_data("--customers", "10")
    assert path.read_text() == before


def test_existing_accounts_keep_their_passwords(data_dir):
    User.objects.create_user("admin", password="chosen-by-the-operator", role=Role.ADMIN)
    demo_data("--customers", "5")
    assert User.objects.get(username="admin").check_password("chosen-by-the-operator")
    assert "admin" not in {c.username for c in read_credentials()}


def test_if_empty_loads_nothing_more_but_prints_credentials():
    demo_data("--customers", "30")
    output = demo_data("--customers", "30", "--if-empty")
    assert Customer.objects.count() == 30
    assert "no demo data loaded" in output
    for item in read_credentials():
        assert item.password in output


def test_customers_and_their_rows_are_consistent():
    demo_data("--customers", "400", "--seed", "11")
    connection.check_constraints()  # deferred foreign keys, checked now rather than at commit
    customers = list(
        Customer.objects.select_related("organization").prefetch_related(
            "phones", "emails", "tags", "interactions", "consents", "addresses"
        )
    )
    assert len(customers) == 400
    events = {e.customer_id: e for e in AuditEvent.objects.filter(object_type="customer")}
    for customer in customers:
        assert customer.search_text == build_search_text(
            name=customer.name,
            company=customer.company,
            organisation=customer.organization.name if customer.organization_id else "",
            phones=[(p.number, p.display) for p in customer.phones.all()],
            emails=[e.address for e in customer.emails.all()],
            tags=[t.name for t in customer.tags.all()],
            external_id=customer.external_id,
            person=customer.party_type == Customer.PartyType.PERSON,
        )
        if customer.organization_id:
            assert customer.organization.party_type == Customer.PartyType.ORGANIZATION
        touches = [i.occurred_at for i in customer.interactions.all()]
        assert customer.last_contacted_at == (max(touches) if touches else None)
        event = events[customer.pk]
        assert (event.action, event.via, event.summary) == ("create", "cli", customer.name)
        assert event.actor_id == customer.created_by_id
        assert event.occurred_at == customer.created_at
    assert sum(len(c.interactions.all()) for c in customers) / len(customers) >= 2
    assert any(c.consents.all() for c in customers)
    assert any(c.addresses.all() for c in customers)
    assert Customer.objects.filter(owner__isnull=True).exists()
    owners = Customer.objects.values("owner__role").annotate(n=Count("id"))
    assert {o["owner__role"] for o in owners} >= {Role.SALES_REP, None}


def test_phones_parse_back_to_what_is_stored():
    demo_data("--customers", "300")
    phones = list(Phone.objects.all())
    assert any(p.label == "mobile" for p in phones) and any(p.label == "work" for p in phones)
    for phone in phones:
        parsed = parse_phone(phone.display)
        assert (parsed.e164, parsed.display) == (phone.number, phone.display)


def test_id_numbers_are_encrypted_masked_and_hashed_like_the_services_do():
    demo_data("--customers", "600")
    with_id = list(Customer.objects.exclude(id_number_encrypted=""))
    assert with_id
    for customer in with_id:
        number = decrypt_text(customer.id_number_encrypted)
        assert number not in customer.id_number_encrypted
        assert check_id_number(number) is None and len(number) == 18
        assert customer.id_number_masked == mask_id_number(number)
        assert customer.id_number_hash == lookup_hash(number)
        assert customer.birth_date.strftime("%Y%m%d") == number[6:14]


def test_the_orm_and_services_insert_after_demo_data():
    demo_data("--customers", "40")
    highest = {
        model: model.objects.aggregate(top=Max("id"))["top"]
        for model in (Customer, Phone, Interaction, AuditEvent)
    }
    rep = User.objects.get(username="rep")
    customer = customer_create(
        actor=rep,
        data={
            "name": "新客户 李明",
            "phones": ["139 0000 1111"],
            "emails": ["li.ming@example.com"],
            "addresses": [{"city": "上海", "street": "人民路 1 号"}],
            "tags": ["VIP"],
            "consents": [{"channel": "email", "granted": True, "method": "verbal"}],
        },
    )
    interaction = interaction_log(
        actor=rep, customer_id=customer.pk, data={"channel": "phone", "subject": "Hello"}
    )
    assert customer.pk > highest[Customer]
    assert customer.phones.get().pk > highest[Phone]
    assert interaction.pk > highest[Interaction]
    assert AuditEvent.objects.filter(customer_id=customer.pk).count() == 2
    assert AuditEvent.objects.aggregate(top=Max("id"))["top"] > highest[AuditEvent]


def _snapshot(customers) -> list[tuple]:
    return [
        (
            c.party_type,
            c.name,
            c.company_label,
            c.kind,
            c.lifecycle_stage,
            c.relationship_level,
            c.industry,
            c.region,
            c.source_channel,
            c.owner.username if c.owner else None,
            c.birth_date,
            c.id_number_encrypted and decrypt_text(c.id_number_encrypted),
            [(p.number, p.label) for p in c.phones.all()],
            [e.address for e in c.emails.all()],
            [a.street for a in c.addresses.all()],
            [t.name for t in c.tags.all()],
            [(x.channel, x.granted, x.method) for x in c.consents.all()],
            [(i.channel, i.direction, i.subject, i.staff.username) for i in c.interactions.all()],
        )
        for c in customers
    ]


def test_same_seed_gives_the_same_company():
    demo_data("--customers", "80", "--seed", "7")
    demo_data("--customers", "80", "--seed", "7")
    customers = list(
        Customer.objects.order_by("id")
        .select_related("organization", "owner")
        .prefetch_related(
            "phones", "emails", "addresses", "tags", "consents", "interactions__staff"
        )
    )
    first, second = _snapshot(customers[:80]), _snapshot(customers[80:])
    assert first == second
    demo_data("--customers", "80", "--seed", "8")
    third = _snapshot(Customer.objects.order_by("id")[160:])
    assert third != first


def test_demo_customers_get_orders_invoices_and_payments():
    output = demo_data("--customers", "50", "--seed", "5")
    connection.check_constraints()
    orders = list(Order.objects.select_related("customer"))
    assert len(orders) == 400  # 8 a customer by default
    assert f"Loaded {len(orders):,} orders" in output
    buyers = {o.customer for o in orders}
    assert all(c.lifecycle_stage in BUYING_STAGES for c in buyers)
    for order in orders:
        assert order.gross_margin == order.amount - order.cost
        assert 0.09 <= order.gross_margin / order.amount <= 0.41
        assert order.ordered_on <= timezone.localdate()
        assert order.created_by_id == order.customer.owner_id
    for invoice in Invoice.objects.select_related("order").prefetch_related("payments"):
        assert invoice.due_on == invoice.issued_on + dt.timedelta(days=30)
        assert invoice.amount == invoice.order.amount
        paid = sum(p.amount for p in invoice.payments.all())
        assert invoice.status == ("paid" if paid == invoice.amount else "open")
    assert Payment.objects.exists()
    assert Order.objects.purchases().count() < len(orders)  # some refunded or cancelled

    # The ORM carries on after the loaded ids.
    highest = Order.objects.aggregate(top=Max("id"))["top"]
    extra = Order.objects.create(
        customer=orders[0].customer, ordered_on=timezone.localdate(), amount=1
    )
    assert extra.pk > highest


def test_no_orders_when_asked_for_none_and_demo_orders_replaces_them():
    demo_data("--customers", "60", "--orders-per-customer", "0")
    assert not Order.objects.exists()
    out = StringIO()
    call_command("demo_orders", "--total", "700", "--verbosity", "0", stdout=out)
    assert Order.objects.count() == 700
    first = sorted(Order.objects.values_list("customer_id", "ordered_on", "amount", "status"))
    call_command("demo_orders", "--total", "700", "--verbosity", "0", stdout=out)
    assert Order.objects.count() == 700 and Invoice.objects.exists()
    assert sorted(Order.objects.values_list("customer_id", "ordered_on", "amount", "status")) == (
        first
    )
    assert "Loaded 700 orders" in out.getvalue()


def test_negative_tickets_are_refused_before_anything_is_loaded():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--tickets cannot be negative"):
        demo_data("--customers", "10", "--tickets", "-5", "--orders-per-customer", "0")
    assert not Customer.objects.exists()
