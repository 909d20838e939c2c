"""The headers of the customer export made for reading, in English and in Chinese, are mapped to
the fields their columns came from: without a mapping (the command line, the service) and in the
web's suggested mapping, whichever language the import runs in. Some of these names are another
field's word elsewhere ("Region" is an address's province for the import, "Type" the customer's
kind), so the export heads those columns with names that mean only them."""

import pytest
from django.conf import settings
from django.utils import translation

from guanxi.customers.exports import EXPORT_COLUMNS, ExportLayout, export_headers
from guanxi.imports.mapping import build_mapping, readable_export_headers, suggest_mapping

EXPECTED = {
    "id": "guanxi_id",
    "external_id": "external_id",
    "party_type": "party_type",
    "name": "name",
    "company": "company",
    "kind": "kind",
    "relationship_level": "relationship_level",
    "lifecycle_stage": "lifecycle_stage",
    "industry": "industry",
    "sales_region": "sales_region",
    "source_channel": "source_channel",
    "owner": "owner",
    "phones": "phone",
    "emails": "email",
    # The address's own columns fill the import's address fields, "region" its province.
    "address": "address",
    "city": "city",
    "region": "region",
    "postcode": "postcode",
    "country": "country",
    "tags": "tags",
    "id_number": "id_number",
    "created_at": None,
    "updated_at": None,
}


def _header(language: str) -> list[str]:
    with translation.override(language):
        return export_headers(ExportLayout.READABLE)


LANGUAGES = [code for code, _name in settings.LANGUAGES]


@pytest.mark.parametrize("importing_in", LANGUAGES)
@pytest.mark.parametrize("exported_in", LANGUAGES)
def test_every_readable_header_fills_the_field_its_column_came_from(exported_in, importing_in):
    assert list(EXPECTED) == list(EXPORT_COLUMNS)
    header = _header(exported_in)
    with translation.override(importing_in):
        built = build_mapping(header, kind="customers").targets
        suggested = suggest_mapping(header, kind="customers")
    assert dict(zip(EXPORT_COLUMNS, built, strict=True)) == EXPECTED
    assert [suggested[name] for name in header] == list(EXPECTED.values())


def test_no_readable_header_is_left_out_for_naming_two_fields():
    # Every name of every language is in the list: one that two columns shared would be dropped.
    # The timestamps fill no field.
    mapped = {
        name
        for language in LANGUAGES
        for column, name in zip(EXPORT_COLUMNS, _header(language), strict=True)
        if EXPECTED[column] is not None
    }
    assert len(readable_export_headers()) == len(mapped)
    for language in LANGUAGES:
        assert len(set(_header(language))) == len(EXPORT_COLUMNS)


def test_a_readable_header_is_never_a_common_header_of_another_field():
    # The sales region is not headed "Region"/"地区" nor the party type "Type": those stay the
    # address's province, the form's sales region and the kind, as before.
    english, chinese = _header("en"), _header("zh-hans")
    assert not {"Region", "Type", "地区", "类型"} & {*english, *chinese}
    suggestion = suggest_mapping(["Region", "Type", "类型", "地区"], kind="customers")
    assert suggestion == {
        "Region": "region",
        "Type": "kind",
        "类型": "party_type",
        "地区": "sales_region",
    }


def test_headers_of_both_languages_mixed_in_one_file_are_read():
    # A file put together from two exports, or a column renamed by a colleague reading English.
    header = ["Guanxi 编号", "Name", "销售区域", "Relationship level", "电话"]
    assert build_mapping(header, kind="customers").targets == [
        "guanxi_id",
        "name",
        "sales_region",
        "relationship_level",
        "phone",
    ]


def test_an_explicit_mapping_still_wins_over_a_readable_header():
    mapping = build_mapping(["名称", "销售区域"], kind="customers", explicit={"销售区域": "region"})
    assert mapping.targets == ["name", "region"]


def test_without_a_mapping_only_the_headers_as_written_are_read():
    # A header only like one of the export's is left for --mapping and named by the command,
    # as any other; the web's suggestion, which the user confirms, reads it.
    header = ["名称", "Sales Region", "电 话"]
    assert build_mapping(header, kind="customers").targets == ["name", None, None]
    assert list(suggest_mapping(header, kind="customers").values()) == [
        "name",
        "sales_region",
        "phone",
    ]
