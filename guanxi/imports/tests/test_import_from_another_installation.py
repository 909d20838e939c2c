"""A row keyed by its Guanxi id updates that customer only when it agrees with them on something
that identifies them (an external id, a phone, an email, the name): an export made on another
Guanxi installation carries ids that name other customers here, and is refused row by row
instead of overwriting them; the round trip of an export edited in a spreadsheet still goes
back into its customers, a name or a phone changed included."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.audit.models import AuditEvent
from guanxi.customers.exports import customers_export_csv
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports.identity import names_agree
from guanxi.imports.tests.test_import_by_guanxi_id import _csv, _export, _import, _reasons, _rows

pytestmark = pytest.mark.django_db

SOMEONE_ELSE = {
    "en": (
        "id (guanxi_id): the customer {id} here is someone else: the row shares no name, phone, "
        "email or external id with them. The file may come from another Guanxi installation, "
        "whose ids are its own: remove the id (guanxi_id) column to import its rows as new "
        "customers or match them by their details"
    ),
    "zh-hans": (
        "id (guanxi_id)：本系统的客户 {id} 是另一个人：这一行的姓名、电话、邮箱和外部编号都与其"
        "不符。文件可能来自另一套 Guanxi 系统，其编号只在那套系统中有效：删除 id (guanxi_id) "
        "列后再导入，这些行将作为新客户导入或按其资料匹配已有客户"
    ),
}

PEOPLE = [
    ("张伟", "13812340001", "zhangwei@example.cn"),
    ("王芳", "13812340002", "wangfang@example.cn"),
    ("John Smith", "13812340003", "john@example.com"),
    ("欧阳娜娜", "13812340004", ""),
]


def _people(actor) -> list[Customer]:
    return [
        customer_create(
            actor=actor,
            data={"name": name, "phones": [phone], "emails": [email] if email else []},
        )
        for name, phone, email in PEOPLE
    ]


def _snapshot() -> dict:
    return {
        c.pk: (c.name, c.version, c.external_id, sorted(c.phones.values_list("number", flat=True)))
        for c in Customer.objects.all()
    }


def _own_rows(actor, *, reveal: bool = False) -> list[dict[str, str]]:
    """The rows of the actor's export that are their own customers (a rep's holds their
    teammate's as well, which they may not change)."""
    rows = _rows(customers_export_csv(actor=actor, reveal=reveal))
    return [row for row in rows if row["owner"] == actor.username]


def _edited(actor, pk: int, **cells) -> str:
    """The actor's export with one customer's row edited (and the others left as they were)."""
    rows = _own_rows(actor)
    for row in rows:
        if row["id"] == str(pk):
            row.update(cells)
    return _csv(rows)


# --- a file from another installation ------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_file_from_another_installation_is_refused_row_by_row_and_changes_nothing(
    company, tmp_path, language
):
    here = _people(company.admin)
    before = _snapshot()
    # The other installation's export: its customers have the numbers of customers here, and are
    # other people (one with an external id the customer here lacks, which it is not given).
    others = [
        ("李娜", "13900000001", "lina@other.example", ""),
        ("刘洋", "13900000002", "", ""),
        ("Mary Jones", "", "mary@other.example", "CRM-7"),
        ("陈静", "", "", ""),
    ]
    rows = [
        {
            "id": str(customer.pk),
            "external_id": external_id,
            "name": name,
            "phones": phone,
            "emails": email,
        }
        for customer, (name, phone, email, external_id) in zip(here, others, strict=True)
    ]
    job = _import(tmp_path, _csv(rows), company.admin, language=language)
    assert (job.created, job.updated, job.merged) == (0, 0, 0)
    assert job.rejected == job.rows_read == 4
    assert _reasons(job) == [SOMEONE_ELSE[language].format(id=c.pk) for c in here]
    assert _snapshot() == before
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).exists()


def test_without_the_id_column_those_rows_come_in_as_new_customers(company, tmp_path):
    here = _people(company.admin)
    content = "external_id,name,phones\n,李娜,13900000001\n,刘洋,13900000002\n"
    job = _import(tmp_path, content, company.admin)
    assert (job.created, job.rejected) == (2, 0), _reasons(job)
    assert [c.name for c in Customer.objects.filter(pk__in=[c.pk for c in here])] == [
        name for name, _p, _e in PEOPLE
    ]


# --- the round trip --------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["admin", "rep"])
def test_the_round_trip_updates_every_row_unchanged(company, tmp_path, actor):
    # The admin's export has the phones in full (as they may ask), the rep's masked.
    user = getattr(company, actor)
    _people(user)
    rows = _own_rows(user, reveal=actor == "admin")
    assert len(rows) == len(PEOPLE) + (actor == "rep")  # and the rep's own customer
    assert ("*" in rows[-1]["phones"]) == (actor == "rep")
    content = _csv(rows)
    before = _snapshot()
    job = _import(tmp_path, content, user)
    assert (job.created, job.merged, job.rejected) == (0, 0, 0), _reasons(job)
    assert job.updated == job.unchanged == job.rows_read == len(rows)
    assert _snapshot() == before


@pytest.mark.parametrize("actor", ["admin", "rep"])
def test_a_new_name_under_the_same_phone_updates(company, tmp_path, actor):
    user = getattr(company, actor)
    zhang = _people(user)[0]
    # Emails removed from the row: only the phone (masked in the rep's export) says who it is.
    job = _import(tmp_path, _edited(user, zhang.pk, name="李娜", emails=""), user)
    assert job.rejected == 0 and job.updated == job.rows_read, _reasons(job)
    zhang.refresh_from_db()
    assert zhang.name == "李娜"


def test_a_masked_phone_that_masks_none_of_the_customers_numbers_does_not_say_who_it_is(
    company, tmp_path
):
    zhang = _people(company.rep)[0]
    job = _import(
        tmp_path,
        _edited(company.rep, zhang.pk, name="李娜", emails="", phones="'+86 138 **** 9999"),
        company.rep,
    )
    assert _reasons(job) == [SOMEONE_ELSE["en"].format(id=zhang.pk)]
    zhang.refresh_from_db()
    assert zhang.name == "张伟"


def test_a_new_phone_under_the_same_name_updates(company, tmp_path):
    wang = _people(company.admin)[1]
    job = _import(
        tmp_path, _edited(company.admin, wang.pk, phones="13999990000", emails=""), company.admin
    )
    assert job.rejected == 0 and job.updated == job.rows_read, _reasons(job)
    assert set(wang.phones.values_list("number", flat=True)) == {
        "+8613812340002",
        "+8613999990000",
    }


def test_an_email_or_the_external_id_alone_says_who_it_is(company, tmp_path):
    zhang, _wang, smith, _ouyang = _people(company.admin)
    Customer.objects.filter(pk=smith.pk).update(external_id="CRM-1")
    rows = _own_rows(company.admin)
    for row in rows:
        if row["id"] == str(zhang.pk):
            row.update(name="李娜", phones="")
        elif row["id"] == str(smith.pk):
            row.update(name="Mary Jones", phones="", emails="")
    job = _import(tmp_path, _csv(rows), company.admin)
    assert job.rejected == 0 and job.updated == job.rows_read, _reasons(job)
    assert set(
        Customer.objects.filter(pk__in=[zhang.pk, smith.pk]).values_list("name", flat=True)
    ) == {"李娜", "Mary Jones"}


@pytest.mark.parametrize(
    ("index", "typo_fixed"),
    [(0, "张玮"), (3, "欧阳娜妮"), (2, "Jon Smith"), (2, "smith, john")],
)
def test_a_name_typo_fixed_with_nothing_else_to_go_by_updates(company, tmp_path, index, typo_fixed):
    customer = _people(company.admin)[index]
    job = _import(
        tmp_path,
        f"id,external_id,name\n{customer.pk},,{_quoted(typo_fixed)}\n",
        company.admin,
    )
    assert (job.updated, job.rejected) == (1, 0), _reasons(job)
    customer.refresh_from_db()
    assert customer.name == typo_fixed


def test_a_two_character_name_with_another_character_needs_a_phone_or_email(company, tmp_path):
    wang = _people(company.admin)[1]
    content = f"id,external_id,name,phones\n{wang.pk},,王芬,\n{wang.pk},,王芬,13812340002\n"
    job = _import(tmp_path, content, company.admin)
    assert (job.updated, job.rejected) == (1, 1)
    assert _reasons(job) == [SOMEONE_ELSE["en"].format(id=wang.pk)]
    wang.refresh_from_db()
    assert wang.name == "王芬"


def test_the_customers_phones_and_emails_are_read_together_once_a_batch(company, tmp_path):
    for i in range(30):
        customer_create(
            actor=company.admin,
            data={"name": f"客户{i}", "phones": [f"1381234{i:04d}"], "emails": [f"c{i}@ex.cn"]},
        )
    lines = _export(company.admin).decode("utf-8-sig").splitlines()

    def contact_queries(rows: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            job = _import(tmp_path, "\n".join(lines[: rows + 1]) + "\n", company.admin)
        assert job.unchanged == rows, _reasons(job)
        assert sum(" UNION " in q["sql"] for q in captured.captured_queries) == 1
        return sum(
            'FROM "customers_phone"' in q["sql"] or 'FROM "customers_email"' in q["sql"]
            for q in captured.captured_queries
        )

    assert contact_queries(30) == contact_queries(3)
    # A file without the id column reads none of them for it.
    without_id = "\n".join(line.split(",", 1)[1] for line in lines[:4]) + "\n"
    with CaptureQueriesContext(connection) as captured:
        _import(tmp_path, without_id, company.admin)
    assert not any(" UNION " in q["sql"] for q in captured.captured_queries)


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "given", "agree"),
    [
        ("张伟", "张伟", True),
        ("张伟", "張偉", True),  # traditional characters
        ("张伟", "张玮", True),  # a homophone, as an input method slips
        ("张伟", "Zhang Wei", True),
        ("张伟", "张伟（已离职）", True),  # a note added
        ("王美玲", "王美琳", True),  # one character of three
        ("王芳", "王芬", False),  # one character of two: strangers as often as not
        ("王芳", "李娜", False),
        ("客户0", "客户1", False),
        ("John Smith", "Jon Smith", True),
        ("John Smith", "SMITH John", True),
        ("Dylan Waller", "Dylan J. Waller", True),
        ("Jonathan Smithers", "Jonathon Smithres", True),  # two slips in a long name
        ("John Smith", "Jane Smith", False),
        ("Li Na", "Li Ni", False),  # too short for a slip
        ("Mary Jones", "", False),
    ],
)
def test_names_agree(stored, given, agree):
    assert names_agree(stored, given) is agree


@pytest.mark.parametrize(
    ("stored", "given", "agree"),
    [
        ("北京华美电子有限公司", "华美电子股份有限公司", True),  # legal form and place dropped
        ("北京华美电子有限公司", "北京華美電子有限公司", True),
        ("华美电子有限公司", "北京华美电子有限公司", True),  # the place added
        ("北京华美电子有限公司", "杭州华美电子有限公司", False),  # another place, another company
        ("北京华美电子有限公司", "北京华为电子有限公司", False),  # one character is the trade name
        ("北京天成科技有限公司", "北京天诚科技有限公司", False),  # the same sound is not enough
        ("北京华美电子有限公司", "北京华美有限公司", True),  # the trade dropped
        ("Northwind Trading Co., Ltd.", "NORTHWIND TRADING LIMITED", True),
        ("Northwind Trading Co., Ltd.", "Northwind Trading Group", True),  # a word added
        ("Northwind Trading Co., Ltd.", "Southwind Trading Ltd", False),  # no slip taken
        ("Northwind Trading Co., Ltd.", "Nortwind Trading Ltd", False),
        ("华美电子有限公司", "Huamei Dianzi", True),
        ("华为技术有限公司", "华为", True),  # the trade name alone, as people say it
        ("华美电子有限公司", "电子有限公司", False),  # the trade alone names no company
        ("华美电子有限公司", "美电", False),
        ("华美电子有限公司", "Dian Zi", False),
        ("ABC科技有限公司", "XYZ科技有限公司", False),  # Latin letters are the trade name
        ("ABC科技有限公司", "科技有限公司", False),
        ("ＡＢＣ科技有限公司", "ABC科技有限公司", True),  # full width
        ("上海华美", "北京华美", False),  # a place before a short name is a place too
        ("北京大学", "南京大学", False),
        ("北京市华美电子有限公司", "北京华美电子有限公司", True),
        ("北京华美电子有限公司", "北京华美电子有限公司上海分公司", False),  # a branch of it
        ("北京华美电子有限公司上海分公司", "北京华美电子有限公司杭州分公司", False),
        ("北京华美电子有限公司（上海分公司）", "北京华美电子有限公司上海分公司", True),
        ("Pacific Trading Ltd", "Asia Pacific Trading Ltd", False),  # the trade name first
        ("Northwind Trading (Shanghai) Co., Ltd.", "Northwind Trading Co., Ltd.", True),
        ("Northwind Trading (Shanghai) Co., Ltd.", "Northwind Trading (Beijing)", False),
        ("北京有限公司", "上海有限公司", False),  # nothing but a place and a legal form
        ("有限公司", "Co., Ltd.", False),
        ("!!!", "???", False),
    ],
)
def test_organisation_names_agree_without_their_legal_form_and_with_no_slip(stored, given, agree):
    assert names_agree(stored, given, organization=True) is agree


def test_an_organisation_is_known_by_its_name_written_another_way_but_not_by_a_near_one(
    company, tmp_path
):
    """A company renamed in the file from its short to its registered name goes back into its
    customer; a company one character apart is another installation's and is refused."""
    kept, other = (
        customer_create(actor=company.admin, data={"name": name, "party_type": "organization"})
        for name in ("华美电子有限公司", "北京天成科技有限公司")
    )
    rows = [
        {"id": str(kept.pk), "external_id": "", "name": "北京华美电子股份有限公司"},
        {"id": str(other.pk), "external_id": "", "name": "北京天诚科技有限公司"},
    ]
    job = _import(tmp_path, _csv(rows), company.admin)
    assert (job.updated, job.rejected) == (1, 1), _reasons(job)
    assert _reasons(job) == [SOMEONE_ELSE["en"].format(id=other.pk)]
    kept.refresh_from_db()
    other.refresh_from_db()
    assert (kept.name, other.name) == ("北京华美电子股份有限公司", "北京天成科技有限公司")


def _quoted(cell: str) -> str:
    return f'"{cell}"' if "," in cell else cell
