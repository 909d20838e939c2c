"""Importing customers applies the rules every other way in applies: values fit their columns,
only people belong to organisations (which may come earlier in the same file), and merging
rows of one file keeps what they say, so that importing the file again changes nothing."""

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.customers.tests.services.test_customer_create import LONG_EMAIL
from guanxi.dedup.keys import refresh_match_keys
from guanxi.dedup.models import MatchKey
from guanxi.imports.models import ImportJob, ImportRowError
from guanxi.imports.services import import_job_create, import_job_run

from .test_customer_import import run_import

pytestmark = pytest.mark.django_db


def reasons(job: ImportJob) -> list[str]:
    return list(
        ImportRowError.objects.filter(job=job)
        .order_by("row_number")
        .values_list("reason", flat=True)
    )


# --- values longer than their column ------------------------------------------------------


def test_a_website_longer_than_its_column_is_rejected_naming_the_column(company, tmp_path):
    url = "https://example.com/" + "a" * 250  # a valid address, but the column holds 200
    job = run_import(tmp_path, f"name,website\n张伟,{url}\n", company.rep)
    assert (job.created, job.rejected) == (0, 1)
    assert reasons(job) == ["website: at most 200 characters"]


def test_an_email_longer_than_its_column_is_rejected_naming_the_column(company, tmp_path):
    job = run_import(tmp_path, f"name,email\n张伟,{LONG_EMAIL}\n", company.rep)
    assert (job.created, job.rejected) == (0, 1)
    assert reasons(job) == ["email: At most 254 characters."]


def test_a_phone_too_long_to_keep_written_out_is_rejected_naming_the_column(company, tmp_path):
    # Its extension makes "+86 10 8765 4321 ext. 12345678901234567890": 42 characters.
    job = run_import(
        tmp_path, "name,phone\n张伟,010-8765 4321 ext 12345678901234567890\n", company.rep
    )
    assert (job.created, job.rejected) == (0, 1)
    assert reasons(job)[0].startswith("phone:") and "at most 40" in reasons(job)[0]


# --- rows of one file merged together -----------------------------------------------------


def test_a_customer_created_by_the_file_takes_the_external_id_of_a_row_merged_into_it(
    company, tmp_path
):
    content = (
        "external_id,name,phone,email\n"
        ",张伟,13812345678,zw@example.com\n"
        "X1,张伟,13812345678,zw@example.com\n"  # the same customer, merged into the first
        "X2,张伟,13812345678,zw@example.com\n"  # the first external id stays
    )
    first = run_import(tmp_path, content, company.rep)
    assert (first.created, first.merged) == (1, 2)
    customer = Customer.objects.get(name="张伟")
    assert customer.external_id == "X1"
    assert "x1" in customer.search_text.casefold()
    version = customer.version
    again = run_import(tmp_path, content, company.rep)
    customer.refresh_from_db()
    assert (again.created, again.rejected, again.unchanged) == (0, 0, 3)
    assert customer.version == version and customer.external_id == "X1"


# --- organisations ------------------------------------------------------------------------


def make_organisation(actor, external_id="ORG1", name="华瑞科技"):
    return customer_create(
        actor=actor, data={"name": name, "party_type": "organization", "external_id": external_id}
    )


def test_an_update_by_external_id_sets_the_organisation_the_row_names(company, tmp_path):
    org = make_organisation(company.rep)
    person = customer_create(actor=company.rep, data={"name": "张伟", "external_id": "P1"})
    job = run_import(
        tmp_path, "external_id,name,organization_external_id\nP1,张伟,ORG1\n", company.rep
    )
    assert (job.updated, job.unchanged, job.rejected) == (1, 0, 0)
    person.refresh_from_db()
    assert person.organization_id == org.pk and person.version == 2
    assert "华瑞" in person.search_text  # found by the organisation's name
    event = AuditEvent.objects.get(customer_id=person.pk, action=AuditEvent.Action.UPDATE)
    assert event.changes["organization_id"] == {"before": None, "after": org.pk}
    again = run_import(
        tmp_path, "external_id,name,organization_external_id\nP1,张伟,ORG1\n", company.rep
    )
    assert (again.updated, again.unchanged) == (1, 1)


def test_an_update_giving_an_organisation_an_organisation_is_rejected(company, tmp_path):
    make_organisation(company.rep)
    other = make_organisation(company.rep, "ORG2", "远航物流")
    content = (
        "external_id,name,party_type,organization_external_id\n"
        "ORG2,远航物流,,ORG1\n"  # an organisation belongs to nothing
        "ORG1,华瑞科技,person,ORG1\n"  # nor is anyone their own organisation
    )
    job = run_import(tmp_path, content, company.rep)
    assert (job.updated, job.rejected) == (0, 2)
    assert reasons(job) == [
        "organization_external_id: only people belong to an organisation",
        "organization_external_id: a customer cannot be its own organisation",
    ]
    other.refresh_from_db()
    assert other.organization_id is None and other.version == 1


def test_a_member_of_an_organisation_cannot_become_one_nor_an_organisation_with_people_a_person(
    company, tmp_path
):
    org = make_organisation(company.rep)
    person = customer_create(
        actor=company.rep, data={"name": "张伟", "external_id": "P1", "organization_id": org.pk}
    )
    content = (
        "external_id,name,party_type\n"
        "P1,张伟,organization\n"
        "ORG1,华瑞科技,person\n"
        "X1,李娜,person\n"  # the batch goes on
    )
    job = run_import(tmp_path, content, company.rep)
    assert job.status == ImportJob.Status.FINISHED
    assert (job.created, job.updated, job.rejected) == (1, 0, 2)
    assert reasons(job) == [
        "party_type: Remove the organisation first: only people belong to one.",
        "party_type: An organisation with people cannot become a person: move its people first.",
    ]
    person.refresh_from_db()
    org.refresh_from_db()
    assert (person.party_type, person.organization_id) == ("person", org.pk)
    assert org.party_type == "organization"


def test_a_later_row_of_the_file_cannot_make_a_new_member_an_organisation(company, tmp_path):
    make_organisation(company.rep)
    content = (
        "external_id,name,party_type,organization_external_id\n"
        "P1,张伟,person,ORG1\n"
        "P1,张伟,organization,\n"  # would break the database's rule, failing the batch
    )
    job = run_import(tmp_path, content, company.rep)
    assert (job.created, job.updated, job.rejected) == (1, 0, 1)
    assert reasons(job) == ["party_type: Remove the organisation first: only people belong to one."]
    assert Customer.objects.get(external_id="P1").party_type == "person"


ORGANISATIONS_THEN_PEOPLE = (
    "external_id,name,party_type,organization_external_id,phone\n"
    "P0,王芳,person,ORG1,13700000000\n"  # before its organisation: there is none yet
    "ORG1,华瑞科技有限公司,organization,,01062345678\n"
    "ORG2,远航物流,organization,,02162345678\n"
    "P1,张伟,person,ORG1,13800000001\n"
    "P2,李娜,person,ORG2,13800000002\n"
    "P3,赵敏,person,ORG1,13800000003\n"
)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 2000])
def test_people_can_name_an_organisation_made_earlier_in_the_file_wherever_batches_end(
    company, tmp_path, batch_size
):
    job = run_import(tmp_path, ORGANISATIONS_THEN_PEOPLE, company.rep, batch_size=batch_size)
    assert (job.created, job.rejected) == (5, 1), reasons(job)
    assert reasons(job) == ["organization_external_id: no organisation “ORG1” that you can see"]
    people = {
        c.external_id: c
        for c in Customer.objects.filter(external_id__startswith="P").select_related("organization")
    }
    assert {e: c.organization.external_id for e, c in people.items()} == {
        "P1": "ORG1",
        "P2": "ORG2",
        "P3": "ORG1",
    }
    zhang = people["P1"]
    assert "华瑞" in zhang.search_text
    # Its duplicate index is that of a person of 华瑞科技, as computing it again gives.
    keys = set(MatchKey.objects.filter(customer_id=zhang.pk).values_list("key_hash", flat=True))
    refresh_match_keys([zhang.pk])
    assert (
        set(MatchKey.objects.filter(customer_id=zhang.pk).values_list("key_hash", flat=True))
        == keys
    )
    again = run_import(tmp_path, ORGANISATIONS_THEN_PEOPLE, company.rep, batch_size=batch_size)
    assert (again.created, again.updated, again.unchanged) == (1, 5, 5)


def test_rows_updating_or_merging_into_people_can_name_a_new_organisation(company, tmp_path):
    person = customer_create(
        actor=company.rep,
        data={"name": "张伟", "external_id": "P1", "phones": ["13800000001"]},
    )
    content = (
        "external_id,name,party_type,organization_external_id,phone,email\n"
        "ORG1,华瑞科技有限公司,organization,,,\n"
        "P1,张伟,,ORG1,,\n"  # an update by external id
        ",李娜,,,13800000002,ln@example.com\n"
        ",李娜,,ORG1,13800000002,ln@example.com\n"  # merged into the row above
    )
    job = run_import(tmp_path, content, company.rep)
    assert (job.created, job.updated, job.merged, job.rejected) == (2, 1, 1, 0), reasons(job)
    org = Customer.objects.get(external_id="ORG1")
    person.refresh_from_db()
    assert person.organization_id == org.pk
    assert Customer.objects.get(name="李娜").organization_id == org.pk


def test_an_organisation_the_file_gives_people_stays_an_organisation(company, tmp_path):
    content = (
        "external_id,name,party_type,organization_external_id\n"
        "ORG1,华瑞科技有限公司,organization,\n"
        "P1,张伟,person,ORG1\n"
        "ORG1,华瑞科技有限公司,person,\n"
    )
    job = run_import(tmp_path, content, company.rep)
    assert (job.created, job.updated, job.rejected) == (2, 0, 1)
    assert reasons(job) == [
        "party_type: An organisation with people cannot become a person: move its people first."
    ]
    assert Customer.objects.get(external_id="ORG1").party_type == "organization"


def test_imported_people_are_found_by_the_surname_reading_of_their_name(company, tmp_path):
    # 曾 reads ceng in everyday words and zeng as a surname; both find the person, whether the
    # row creates them (prepared ahead or not) or updates them.
    path = tmp_path / "people.csv"
    path.write_text("external_id,name,party_type\nP1,曾伟,person\nO1,曾氏贸易,organization\n")
    job = import_job_create(actor=company.admin, path=path, filename=path.name, kind="customers")
    import_job_run(job=job)
    person = Customer.objects.get(external_id="P1")
    organisation = Customer.objects.get(external_id="O1")
    assert "zengwei" in person.search_text.split()
    assert "zengshi" not in organisation.search_text.split()
    Customer.objects.filter(pk=person.pk).update(search_text="")
    path.write_text("external_id,name,tags\nP1,曾伟,VIP\n")
    job = import_job_create(actor=company.admin, path=path, filename=path.name, kind="customers")
    import_job_run(job=job)
    assert "zengwei" in Customer.objects.get(pk=person.pk).search_text.split()


def test_an_import_renaming_an_organisation_rebuilds_how_its_people_are_found(company, tmp_path):
    from guanxi.customers.selectors import customer_list_for_user
    from guanxi.dedup.models import MatchProfile

    org = make_organisation(company.rep, name="华瑞科技")
    person = customer_create(actor=company.rep, data={"name": "李娜", "organization_id": org.pk})
    other = customer_create(actor=company.rep, data={"name": "王芳", "external_id": "P2"})
    job = run_import(
        tmp_path,
        "external_id,name,party_type,organization_external_id,phone\n"
        "ORG1,鑫源物流,organization,,\n"
        "P2,王芳,,ORG1,13900001111\n",  # joins it in the same batch, with a new phone
        company.rep,
    )
    assert (job.updated, job.rejected) == (2, 0)
    for customer in (person, other):
        customer.refresh_from_db()
        assert customer.company_label == "鑫源物流"
        found = customer_list_for_user(company.rep, filters={"q": "鑫源"})
        assert customer.pk in set(found.values_list("pk", flat=True))
        assert "华瑞" not in customer.search_text
        assert "鑫源物流" in MatchProfile.objects.get(customer_id=customer.pk).profile
    assert "8613900001111" in other.search_text.split()


def test_people_linked_to_an_organisation_deleted_while_the_batch_is_matched_are_rejected(
    company, tmp_path, monkeypatch
):
    from guanxi.customers.services import customer_delete
    from guanxi.imports import customer_import

    org = make_organisation(company.admin)
    existing = customer_create(actor=company.admin, data={"name": "张伟", "external_id": "P1"})
    match = customer_import.CustomerImporter._match

    def colleague_deletes_the_organisation_meanwhile(importer, *args):
        found = match(importer, *args)
        customer_delete(actor=company.admin, customer_id=org.pk)  # it has no people yet
        return found

    monkeypatch.setattr(
        customer_import.CustomerImporter, "_match", colleague_deletes_the_organisation_meanwhile
    )
    job = run_import(
        tmp_path,
        "external_id,name,organization_external_id\n"
        "P1,张伟,ORG1\n"  # an update
        "P2,韩梅梅,ORG1\n"  # a new person
        "P2,韩梅梅,ORG1\n",  # follows the row before it
        company.admin,
    )
    assert (job.created, job.updated, job.rejected) == (0, 0, 3)
    assert all(
        r.startswith("organization_external_id: the organisation ORG1 was deleted")
        for r in reasons(job)
    )
    assert not Customer.objects.filter(organization=org).exists()
    existing.refresh_from_db()
    assert existing.version == 1


def test_people_naming_an_organisation_row_merged_into_one_deleted_meanwhile_are_rejected(
    company, tmp_path, monkeypatch
):
    from guanxi.customers.services import customer_delete
    from guanxi.imports import customer_import

    stored = customer_create(
        actor=company.admin,
        data={
            "name": "华瑞科技有限公司",
            "party_type": "organization",
            "phones": ["021-62345678"],
            "emails": ["info@huarui.example.com"],
        },
    )
    match = customer_import.CustomerImporter._match

    def colleague_deletes_the_organisation_meanwhile(importer, *args):
        found = match(importer, *args)
        customer_delete(actor=company.admin, customer_id=stored.pk)
        return found

    monkeypatch.setattr(
        customer_import.CustomerImporter, "_match", colleague_deletes_the_organisation_meanwhile
    )
    job = run_import(
        tmp_path,
        "external_id,name,party_type,phone,email,organization_external_id\n"
        # the same company again: it merges into the stored one, which takes ORG9
        "ORG9,华瑞科技有限公司,organization,021-62345678,info@huarui.example.com,\n"
        "P9,韩梅梅,person,,,ORG9\n",
        company.admin,
        dedup="auto",
    )
    assert (job.created, job.merged, job.rejected) == (0, 0, 2)
    assert reasons(job)[1].startswith("organization_external_id: the organisation ORG9 was")
    assert not Customer.objects.filter(organization=stored).exists()
    assert not Customer.objects.filter(name="韩梅梅").exists()
