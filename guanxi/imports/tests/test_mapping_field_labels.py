"""A column headed with a field's label as Guanxi itself shows it (its forms, its export's
notes), in English or Chinese, is matched to that field by the suggested mapping, instead of
being left unmapped and its cells silently dropped: 地区 is what the customer form calls the
sales region."""

import pytest

from guanxi.imports.mapping import suggest_mapping


@pytest.mark.parametrize(
    ("kind", "header", "field"),
    [
        ("customers", "地区", "sales_region"),
        ("customers", "Sales region", "sales_region"),
        ("customers", "客户类别", "kind"),
        ("customers", "外部编号", "external_id"),
        ("customers", "生命周期阶段", "lifecycle_stage"),
        ("customers", "Lifecycle stage", "lifecycle_stage"),
        ("customers", "关系等级", "relationship_level"),
        ("customers", "来源渠道", "source_channel"),
        ("customers", "网站", "website"),
        ("customers", "省 / 州", "region"),
        ("customers", "Province / state", "region"),
        ("orders", "外部编号", "external_id"),
        ("orders", "Order date", "ordered_on"),
        ("interactions", "外部编号", "external_id"),
        ("interactions", "Staff member", "staff"),
    ],
)
def test_a_header_equal_to_a_fields_label_is_mapped_to_it(kind, header, field):
    assert suggest_mapping([header], kind=kind)[header] == field


def test_the_common_headers_still_come_first():
    # "region" is the address's province for the import and "type" the customer's kind,
    # whatever the form calls them; 类型 is only what the form calls the party type.
    suggestion = suggest_mapping(["region", "type", "类型", "地区"], kind="customers")
    assert suggestion == {
        "region": "region",
        "type": "kind",
        "类型": "party_type",
        "地区": "sales_region",
    }
