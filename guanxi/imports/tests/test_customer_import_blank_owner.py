"""A blank owner cell in a row that changes a customer leaves its owner as it is, as a blank
cell leaves every other field: the importing user is only the default owner of a customer the
row makes. So an update by external id, a sure duplicate merged into a stored customer, an
organisation (whose owner the database writes to its people) and a customer a row of the same
file made are none of them handed to whoever imports the file."""

import pytest

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create

from .test_customer_import import run_import

pytestmark = pytest.mark.django_db

HEADER = "external_id,name,party_type,phone,organization_external_id,owner\n"


def test_an_update_with_a_blank_owner_cell_keeps_the_customers_owner(company, tmp_path):
    customer = customer_create(
        actor=company.admin,
        data={"name": "张伟", "external_id": "P1", "owner_id": company.rep.pk},
    )
    job = run_import(tmp_path, HEADER + "P1,张伟 (新),person,13812340001,,\n", company.admin)
    assert (job.updated, job.rejected) == (1, 0)
    customer.refresh_from_db()
    assert (customer.name, customer.owner_id) == ("张伟 (新)", company.rep.pk)


def test_a_duplicate_merged_with_a_blank_owner_cell_keeps_the_customers_owner(company, tmp_path):
    owned = customer_create(
        actor=company.admin,
        data={"name": "李娜", "phones": ["13812340002"], "owner_id": company.rep.pk},
    )
    unowned = customer_create(
        actor=company.admin, data={"name": "王芳", "phones": ["13812340003"], "owner_id": None}
    )
    job = run_import(
        tmp_path,
        HEADER + ",李娜,person,13812340002,,\n,王芳,person,13812340003,,\n",
        company.admin,
        dedup="auto",
    )
    assert (job.merged, job.created, job.rejected) == (2, 0, 0)
    owned.refresh_from_db()
    unowned.refresh_from_db()
    assert owned.owner_id == company.rep.pk
    # One without an owner stays in the pool: the importer does not fill the empty field.
    assert unowned.owner_id is None


def test_an_organisation_updated_with_a_blank_owner_cell_keeps_its_and_its_peoples_owner(
    company, tmp_path
):
    organisation = customer_create(
        actor=company.admin,
        data={
            "name": "华东精密仪器",
            "party_type": "organization",
            "external_id": "ORG1",
            "owner_id": company.rep.pk,
        },
    )
    person = customer_create(
        actor=company.admin,
        data={"name": "钱伟", "external_id": "P2", "organization_id": organisation.pk},
    )
    job = run_import(
        tmp_path,
        HEADER + "ORG1,华东精密仪器,organization,,,\nP2,钱伟,person,13812340004,ORG1,\n",
        company.admin,
    )
    assert (job.updated, job.rejected) == (2, 0)
    organisation.refresh_from_db()
    person.refresh_from_db()
    assert organisation.owner_id == company.rep.pk
    # The database writes an organisation's owner to its people: it was not changed either.
    assert person.organization_owner_id == company.rep.pk


@pytest.mark.parametrize("batch_size", [None, 1])
def test_a_later_row_with_a_blank_owner_cell_keeps_the_owner_an_earlier_row_gave(
    company, tmp_path, batch_size
):
    # The second row updates the customer the first made: whether the first was written in
    # an earlier batch or is still being made in the same one, it keeps the rep.
    job = run_import(
        tmp_path,
        HEADER + "P3,赵敏,person,13812340005,,rep\nP3,赵敏,person,13812340006,,\n",
        company.admin,
        batch_size=batch_size,
    )
    assert job.rejected == 0
    customer = Customer.objects.get(external_id="P3")
    assert customer.owner_id == company.rep.pk
