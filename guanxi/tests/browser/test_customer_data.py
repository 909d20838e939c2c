"""Customer data work in a real browser: importing a spreadsheet, being warned of a duplicate
while typing, merging a pair from the review queue, and undoing the merge."""

import re

import pytest
from playwright.sync_api import expect

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.models import DuplicatePair
from guanxi.imports.models import ImportJob
from guanxi.tests.browser.test_everyday_work import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_import_a_spreadsheet_with_a_bad_row(page, company, tmp_path):
    path = tmp_path / "展会名单.csv"
    path.write_bytes(
        "姓名,手机,邮箱,公司\n"
        "欧阳娜娜,138 1234 0001,nana@example.com,华瑞科技\n"
        "林小东,12345,,\n"
        "陈思远,139-0000-2222,,\n".encode("gbk")
    )
    sign_in(page, "rep")
    page.get_by_role("link", name="Import").click()
    page.get_by_role("link", name="Import a file").click()
    page.set_input_files("#id_file", str(path))
    page.get_by_role("button", name="Upload and map columns").click()

    # The Chinese headers were recognised, and the preview shows the file.
    expect(page.locator("#map_0")).to_have_value("name")
    expect(page.locator("#map_1")).to_have_value("phone")
    expect(page.locator("#mapping-table")).to_contain_text("欧阳娜娜")
    page.get_by_role("button", name="Check the first rows").click()
    expect(page.locator("#check-report")).to_contain_text("3 rows checked: 2 can be imported")
    expect(page.locator("#check-report")).to_contain_text("12345")

    # A dry run of the whole file first: the counts, and nothing written.
    page.get_by_role("button", name="Dry run").click()
    expect(page.locator("#import-progress h2")).to_have_text("Finished")
    expect(page.locator("#count-created")).to_have_text("2")
    expect(page.locator("#count-rejected")).to_have_text("1")
    assert not Customer.objects.filter(name="欧阳娜娜").exists()
    page.get_by_role("button", name="Import this file for real").click()
    expect(page.locator("#map_0")).to_have_value("name")

    page.get_by_role("button", name="Start the import").click()
    expect(page.locator("#import-progress h2")).to_have_text("Finished")
    expect(page.locator("#count-created")).to_have_text("2")
    expect(page.locator("#count-rejected")).to_have_text("1")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the rejected rows").click()
    content = download.value.path().read_text(encoding="utf-8-sig")
    assert "林小东" in content and "import_error" in content
    assert Customer.objects.get(name="欧阳娜娜").owner == company.rep
    assert [(job.dry_run, job.via) for job in ImportJob.objects.order_by("pk")] == [
        (True, "web"),
        (False, "web"),
    ]


def test_a_duplicate_is_pointed_out_while_typing(page, company):
    existing = customer_create(actor=company.rep, data={"name": "张伟", "phones": ["13812345678"]})
    sign_in(page, "rep")
    page.goto("/customers/new/")
    page.fill("#id_name", "Zhang Wei")
    page.fill("#id_phone_number_0", "138-1234-5678")
    hints = page.locator("#duplicate-hints")
    expect(hints).to_contain_text("Is this one of these customers?")
    expect(hints).to_contain_text("same mobile phone")
    expect(hints.get_by_role("link", name="张伟")).to_have_attribute(
        "href", f"/customers/{existing.pk}/"
    )


def test_merge_a_pair_from_the_queue_and_undo_it(page, company):
    kept = customer_create(actor=company.rep, data={"name": "王芳", "phones": ["13900001111"]})
    other = customer_create(
        actor=company.rep,
        data={"name": "王芳", "emails": ["wang.fang@example.com"], "industry": "制造业"},
    )
    DuplicatePair.objects.create(
        left_id=kept.pk,
        right_id=other.pk,
        score=0.93,
        source="scan",
        details={"fields": [{"field": "name", "level": "exact", "weight": 3.1}]},
    )
    sign_in(page, "rep")
    page.get_by_role("link", name="Duplicates").click()
    expect(page.locator("#duplicate-table")).to_contain_text("王芳")
    page.get_by_role("link", name="Review", exact=True).click()
    expect(page.locator("#pair-table")).to_contain_text("wang.fang@example.com")
    page.locator(f"input[name=keep][value='{kept.pk}']").check()
    page.get_by_role("button", name="Merge into the kept customer").click()

    expect(page).to_have_url(f"{page.url.split('/customers/')[0]}/customers/{kept.pk}/")
    expect(page.locator(".message-success")).to_contain_text("merged into this customer")
    expect(page.locator("#contact-card")).to_contain_text("wang.fang@example.com")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Undo merge").click()
    expect(page.locator(".message-success")).to_contain_text("The merge is undone")
    expect(page.locator("#contact-card")).not_to_contain_text("wang.fang@example.com")
    assert Customer.objects.get(pk=other.pk).deleted_at is None


def test_duplicate_hints_forget_a_phone_cleared_with_its_button(page, company):
    customer_create(actor=company.rep, data={"name": "张伟", "phones": ["13812345678"]})
    sign_in(page, "rep")
    page.goto("/customers/new/")
    page.fill("#id_name", "Li Si")
    page.fill("#id_phone_number_0", "138-1234-5678")
    hints = page.locator("#duplicate-hints")
    expect(hints).to_contain_text("same mobile phone")
    page.locator("#phone-rows [data-remove-row]").first.click()
    expect(page.locator("#id_phone_number_0")).to_have_value("")
    expect(hints).not_to_contain_text("same mobile phone")


def test_an_organisation_typed_in_full_without_picking_it_is_linked(page, company):
    org = customer_create(
        actor=company.rep, data={"name": "天津思源科技有限公司", "party_type": "organization"}
    )
    sign_in(page, "rep")
    page.goto("/customers/new/")
    page.fill("#id_name", "周杰")
    page.fill("#id_organization_label", "天津思源科技有限公司")
    page.get_by_role("button", name="Create customer").click()
    expect(page.locator("h1")).to_have_text("周杰")
    expect(page.locator(".page-head")).to_contain_text("天津思源科技有限公司")
    assert Customer.objects.get(name="周杰").organization_id == org.pk


def test_the_export_format_picked_on_the_list_stays_picked(page, company, tmp_path):
    customer_create(actor=company.rep, data={"name": "孙悦", "tags": ["VIP"]})
    sign_in(page, "rep")
    page.goto("/customers/?q=VIP")
    # Picked with the keys, as a keyboard user does: each arrow press is a change.
    page.locator("#export-form select[name=format]").focus()
    page.keyboard.press("ArrowDown")
    # Whatever the page asks the server after the pick has come back before the check.
    page.wait_for_load_state("networkidle")
    expect(page.locator("#export-form select[name=format]")).to_have_value("xlsx")
    with page.expect_download() as download:
        page.locator("#export-form").get_by_role("button", name="Export", exact=True).click()
    assert download.value.suggested_filename.endswith(".xlsx")
    # The filters' own selects still fetch the list as they change.
    page.select_option("#id_kind", "signed")
    expect(page).to_have_url(re.compile(r"kind=signed"))
    expect(page.locator("#results")).not_to_contain_text("孙悦")


def test_the_export_format_picked_stays_picked_as_the_filters_change(page, company):
    customer_create(actor=company.rep, data={"name": "孙悦", "tags": ["VIP"]})
    customer_create(actor=company.rep, data={"name": "李娜"})
    sign_in(page, "rep")
    page.goto("/customers/")
    page.select_option("#export-form select[name=format]", "xlsx")
    # Then a search narrows the list: the export form is given the new filters with it.
    page.fill("#id_q", "孙悦")
    expect(page).to_have_url(re.compile(r"q=%E5%AD%99%E6%82%A6|q=孙悦"))
    expect(page.locator("#results")).not_to_contain_text("李娜")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#export-form select[name=format]")).to_have_value("xlsx")
    expect(page.locator("#export-form input[name=q]")).to_have_value("孙悦")
    with page.expect_download() as download:
        page.locator("#export-form").get_by_role("button", name="Export", exact=True).click()
    assert download.value.suggested_filename.endswith(".xlsx")


def test_a_refused_new_customer_keeps_its_duplicate_warning_and_the_cursor_on_the_error(
    page, company
):
    customer_create(actor=company.rep, data={"name": "张伟", "phones": ["13800138000"]})
    sign_in(page, "rep")
    page.goto("/customers/new/")
    page.fill("#id_name", "张伟")
    page.fill("#id_phone_number_0", "138 0013 8000")
    page.fill("#id_email_address_0", "zhang@@example")
    # Sent with Enter from the keyboard, as typed.
    page.locator("#id_email_address_0").press("Enter")

    expect(page.locator(".message-error, .errorlist").first).to_be_visible()
    expect(page.locator("#id_name")).to_have_value("张伟")
    # The cursor is where the mistake is, not back at the top of the page behind the menu.
    expect(page.locator("#id_email_address_0")).to_be_focused()
    # The warning seen before sending is still there: nothing was typed since.
    expect(page.locator("#duplicate-hints")).to_contain_text("same mobile phone")
    assert Customer.objects.filter(name="张伟").count() == 1


EXPORT_HEADER = (
    "id,external_id,party_type,name,company,kind,relationship_level,lifecycle_stage,industry,"
    "sales_region,source_channel,owner,phones,emails,address,city,region,postcode,country,tags,"
    "id_number,created_at,updated_at"
)


def _uncovered(page, selector: str) -> bool:
    """Whether the element is the one a click at its middle lands on once scrolled to: not
    cut off by a box around it, nor off the page."""
    element = page.locator(selector)
    element.scroll_into_view_if_needed()
    return page.evaluate(
        """(element) => {
          const box = element.getBoundingClientRect();
          const x = box.left + box.width / 2, y = box.top + box.height / 2;
          const hit = document.elementFromPoint(x, y);
          return hit === element || element.contains(hit);
        }""",
        element.element_handle(),
    )


@pytest.mark.parametrize("width", [1280, 390])
def test_every_column_of_a_wide_file_can_be_mapped(browser, live_server, company, tmp_path, width):
    # Guanxi's own export has 23 columns; the mapping table is wider than any screen.
    path = tmp_path / "export.csv"
    path.write_text(EXPORT_HEADER + "\n" + ",person,孙悦" + "," * 20 + "\n", encoding="utf-8")
    viewport = {"width": width, "height": 900}
    context = browser.new_context(base_url=live_server.url, viewport=viewport)
    page = context.new_page()
    try:
        sign_in(page, "rep")
        page.goto("/imports/new/")
        page.set_input_files("#id_file", str(path))
        page.get_by_role("button", name="Upload and map columns").click()
        expect(page.locator("#map_3")).to_have_value("name")
        for index in (0, 12, 22):  # the first, the phones, the last
            assert _uncovered(page, f"#map_{index}"), f"column {index} cannot be reached"
        # With the mouse too: the frame offers to scroll to them (a frame that cuts off what
        # it cannot show is scrolled only by the browser, to a field reached with Tab).
        frame = "getComputedStyle(document.querySelector('#mapping-table').parentElement)"
        assert page.evaluate(f"{frame}.overflowX") in ("auto", "scroll")
        # The table scrolls within its frame; the page itself stays the screen's width.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_customer_to_keep_is_picked_by_name_on_any_screen(browser, live_server, company, width):
    kept = customer_create(actor=company.rep, data={"name": "王芳", "phones": ["13900001111"]})
    other = customer_create(actor=company.rep, data={"name": "Wang Fang"})
    pair = DuplicatePair.objects.create(
        left_id=kept.pk,
        right_id=other.pk,
        score=0.93,
        source="scan",
        details={"fields": [{"field": "name", "level": "phonetic", "weight": 3.1}]},
    )
    viewport = {"width": width, "height": 900}
    context = browser.new_context(base_url=live_server.url, viewport=viewport)
    page = context.new_page()
    try:
        sign_in(page, "rep")
        page.goto(f"/duplicates/{pair.pk}/")
        # Each choice says whom it keeps, to whoever hears the page rather than sees the table.
        keep_other = page.get_by_role("radio", name=re.compile("Wang Fang"))
        # On a phone too, where the table's head row, holding the choices, was left out.
        expect(keep_other).to_be_visible()
        keep_other.check()
        page.get_by_role("button", name="Merge into the kept customer").click()
        expect(page).to_have_url(re.compile(rf"/customers/{other.pk}/$"))
    finally:
        context.close()
