"""Which column of a file holds which Guanxi field.

Without a mapping, headers equal to Guanxi's field names are used as they are (``name``,
``phone``, …; see :data:`CUSTOMER_FIELDS`). A mapping file is a JSON object from the file's
headers to field names, e.g. ``{"姓名": "name", "手机": "phone", "Kundennummer": "external_id"}``;
a header mapped to ``null`` or ``""`` is ignored. The web importer suggests a mapping from
common English and Chinese headers (:func:`suggest_mapping`), which the user then confirms.
"""

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from guanxi.audit.summaries import Summary
from guanxi.customers.models import Customer
from guanxi.interactions.models import Interaction
from guanxi.orders.models import Order

from .customer_rows import labels_and_codes
from .reasons import named_column, reason_field

# A choice field's hint lists what its cells may say: each label in the reader's language with
# its code, both of which the importers take, listed as a refused cell's reason lists them.
# Lazy, so it is written in the language of the page that shows it.
_choices_hint = lazy(labels_and_codes, str)


# The canonical names of a customer import, with what each holds (shown beside the name on the
# mapping page, in the reader's language). Several phones, emails or tags go in one cell,
# separated by ; , 、 | or / or the full-width ； ， ｜ ／ (emails by spaces too; see
# customer_rows._split and _split_tags), or in several columns mapped to the same field, whose
# cells ColumnMapping.apply joins with a semicolon.
CUSTOMER_FIELDS = {
    "guanxi_id": gettext_lazy(
        "Guanxi's own number of the customer (the export's “id” column); the row updates that "
        "customer"
    ),
    "external_id": gettext_lazy(
        "the customer's key in the other system; re-importing updates by it"
    ),
    "kind": _choices_hint(Customer.Kind),
    "name": gettext_lazy("the customer's name (required)"),
    "company": gettext_lazy("a person's company, or for an organisation row its name"),
    "phone": gettext_lazy("phone numbers"),
    "email": gettext_lazy("email addresses"),
    "address": gettext_lazy("street address"),
    "city": gettext_lazy("city"),
    "region": gettext_lazy("province or state of the address"),
    "postcode": gettext_lazy("postcode"),
    "country": gettext_lazy("two-letter country code of the address"),
    "birth_date": gettext_lazy("YYYY-MM-DD (also YYYY/MM/DD, YYYYMMDD)"),
    "id_number": gettext_lazy("national ID number (stored encrypted)"),
    "industry": gettext_lazy("industry"),
    "tags": gettext_lazy("tags"),
    "owner": gettext_lazy("the account manager's username"),
    # Beyond the list: the rest of a customer's own fields, under their model names.
    "party_type": _choices_hint(Customer.PartyType),
    "job_title": gettext_lazy("job title"),
    "sales_region": gettext_lazy("the company's sales region (华东, 华南 …)"),
    "lifecycle_stage": _choices_hint(Customer.LifecycleStage),
    "relationship_level": _choices_hint(Customer.RelationshipLevel),
    "source_channel": _choices_hint(Customer.SourceChannel),
    "website": gettext_lazy("web address"),
    "notes": gettext_lazy("notes"),
    "organization_external_id": gettext_lazy("for a person: the external id of their organisation"),
}
MULTI_VALUED = frozenset({"phone", "email", "tags"})
INTERACTION_FIELDS = {
    "customer_external_id": gettext_lazy(
        "external id of the customer (required unless customer_id)"
    ),
    "customer_id": gettext_lazy("Guanxi id of the customer"),
    "channel": _choices_hint(Interaction.Channel),
    "direction": _choices_hint(Interaction.Direction),
    "subject": gettext_lazy("what it was about (required)"),
    "notes": gettext_lazy("notes"),
    "occurred_at": gettext_lazy("when: YYYY-MM-DD HH:MM (or a date)"),
    "staff": gettext_lazy("username of the staff member"),
    "external_id": gettext_lazy("the interaction's key in the other system; re-importing skips it"),
}
ORDER_FIELDS = {
    "external_id": gettext_lazy("the order's key in the other system; re-importing updates by it"),
    "customer_external_id": gettext_lazy(
        "external id of the customer (required unless customer_id)"
    ),
    "customer_id": gettext_lazy("Guanxi id of the customer"),
    "ordered_on": gettext_lazy("order date: YYYY-MM-DD (also YYYY/MM/DD, YYYYMMDD) (required)"),
    "amount": gettext_lazy("order amount (required)"),
    "cost": gettext_lazy("cost of goods; gross margin is amount less cost unless given"),
    "gross_margin": gettext_lazy("gross margin"),
    "currency": gettext_lazy("three-letter currency code (default CNY)"),
    "channel": _choices_hint(Order.Channel),
    "status": _choices_hint(Order.Status),
    "notes": gettext_lazy("notes"),
}

# Headers people actually use, folded (lower case, no spaces or punctuation) -> field.
SYNONYMS = {
    "customers": {
        # The labels of the export's ``id`` column. A bare ``id`` is Guanxi's only in a file
        # with an ``external_id`` column as well, as every export has (see _export_headers);
        # in other files it is most often the other system's own key.
        "guanxiid": "guanxi_id",
        "guanxi编号": "guanxi_id",
        "externalid": "external_id",
        "id": "external_id",
        "customerid": "external_id",
        "customerno": "external_id",
        "客户编号": "external_id",
        "客户id": "external_id",
        "编号": "external_id",
        "name": "name",
        "fullname": "name",
        "customername": "name",
        "contactname": "name",
        "姓名": "name",
        "名称": "name",
        "客户名称": "name",
        "客户姓名": "name",
        "联系人": "name",
        "company": "company",
        "companyname": "company",
        "organisation": "company",
        "organization": "company",
        "公司": "company",
        "公司名称": "company",
        "单位": "company",
        "phone": "phone",
        "phones": "phone",
        "mobile": "phone",
        "tel": "phone",
        "telephone": "phone",
        "phonenumber": "phone",
        "电话": "phone",
        "手机": "phone",
        "手机号": "phone",
        "手机号码": "phone",
        "联系电话": "phone",
        "座机": "phone",
        "email": "email",
        "emails": "email",
        "mail": "email",
        "emailaddress": "email",
        "邮箱": "email",
        "电子邮件": "email",
        "电子邮箱": "email",
        "address": "address",
        "street": "address",
        "地址": "address",
        "详细地址": "address",
        "city": "city",
        "城市": "city",
        "region": "region",
        "province": "region",
        "state": "region",
        "省份": "region",
        "省": "region",
        "postcode": "postcode",
        "zip": "postcode",
        "zipcode": "postcode",
        "postalcode": "postcode",
        "邮编": "postcode",
        "邮政编码": "postcode",
        "country": "country",
        "国家": "country",
        "birthdate": "birth_date",
        "birthday": "birth_date",
        "dateofbirth": "birth_date",
        "出生日期": "birth_date",
        "生日": "birth_date",
        "idnumber": "id_number",
        "身份证": "id_number",
        "身份证号": "id_number",
        "身份证号码": "id_number",
        "industry": "industry",
        "行业": "industry",
        "tags": "tags",
        "tag": "tags",
        "标签": "tags",
        "owner": "owner",
        "accountmanager": "owner",
        "负责人": "owner",
        "客户经理": "owner",
        "销售": "owner",
        "kind": "kind",
        "type": "kind",
        "customertype": "kind",
        "客户类型": "kind",
        "jobtitle": "job_title",
        "title": "job_title",
        "职位": "job_title",
        "职务": "job_title",
        "notes": "notes",
        "note": "notes",
        "remarks": "notes",
        "备注": "notes",
        "website": "website",
        "网址": "website",
        "salesregion": "sales_region",
        "区域": "sales_region",
        "大区": "sales_region",
        "source": "source_channel",
        "来源": "source_channel",
    },
    "interactions": {
        "customerexternalid": "customer_external_id",
        "客户编号": "customer_external_id",
        "customerid": "customer_id",
        "channel": "channel",
        "渠道": "channel",
        "方式": "channel",
        "direction": "direction",
        "方向": "direction",
        "subject": "subject",
        "主题": "subject",
        "notes": "notes",
        "备注": "notes",
        "内容": "notes",
        "occurredat": "occurred_at",
        "date": "occurred_at",
        "time": "occurred_at",
        "时间": "occurred_at",
        "日期": "occurred_at",
        "staff": "staff",
        "员工": "staff",
        "externalid": "external_id",
    },
    "orders": {
        "externalid": "external_id",
        "orderid": "external_id",
        "orderno": "external_id",
        "订单号": "external_id",
        "订单编号": "external_id",
        "customerexternalid": "customer_external_id",
        "客户编号": "customer_external_id",
        "customerid": "customer_id",
        "orderedon": "ordered_on",
        "orderdate": "ordered_on",
        "date": "ordered_on",
        "下单日期": "ordered_on",
        "订单日期": "ordered_on",
        "日期": "ordered_on",
        "amount": "amount",
        "total": "amount",
        "金额": "amount",
        "订单金额": "amount",
        "cost": "cost",
        "成本": "cost",
        "grossmargin": "gross_margin",
        "margin": "gross_margin",
        "毛利": "gross_margin",
        "currency": "currency",
        "币种": "currency",
        "channel": "channel",
        "渠道": "channel",
        "status": "status",
        "状态": "status",
        "notes": "notes",
        "备注": "notes",
    },
}
FIELDS_BY_KIND = {
    "customers": CUSTOMER_FIELDS,
    "interactions": INTERACTION_FIELDS,
    "orders": ORDER_FIELDS,
}


def _label_sources(kind: str) -> dict[str, list]:
    """For each field of an import, where the app shows its label: a model field (the forms and
    the pages), or a label of the customer export's notes. A field of the import's own model
    under the same name is shown under that field's label."""
    from guanxi.customers.exports import COLUMN_LABELS
    from guanxi.customers.models import Address, Email, Phone

    model = {"customers": Customer, "interactions": Interaction, "orders": Order}[kind]
    sources: dict[str, list] = {}
    for name in FIELDS_BY_KIND[kind]:
        try:
            sources[name] = [model._meta.get_field(name).verbose_name]
        except FieldDoesNotExist:
            sources[name] = []
    if kind == "customers":
        # The sales region is the model's ``region`` (地区 on the form); the import's ``region``
        # is an address's province, as are its other address fields.
        sources["sales_region"] = [
            Customer._meta.get_field("region").verbose_name,
            COLUMN_LABELS["sales_region"],
        ]
        sources["region"] = [Address._meta.get_field("region").verbose_name]
        sources["address"] = [Address._meta.get_field("street").verbose_name]
        for name in ("city", "postcode", "country"):
            sources[name] = [Address._meta.get_field(name).verbose_name]
        sources["phone"] = [Phone._meta.verbose_name, COLUMN_LABELS["phones"]]
        sources["email"] = [Email._meta.verbose_name, COLUMN_LABELS["emails"]]
        sources["guanxi_id"] = [COLUMN_LABELS["id"]]
        sources["id_number"] = [COLUMN_LABELS["id_number"]]
        sources["owner"] = [*sources["owner"], COLUMN_LABELS["owner"]]
    return sources


def field_labels(kind: str) -> dict[str, str]:
    """Folded labels of the fields, in every language of the site, to the field each names. A
    label two fields share names neither, and one that folds to a field's key is that field's."""
    keys = {_fold(name) for name in FIELDS_BY_KIND[kind]}
    found: dict[str, set[str]] = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for name, labels in _label_sources(kind).items():
                for label in labels:
                    found.setdefault(_fold(str(label)), set()).add(name)
    return {
        label: next(iter(names))
        for label, names in found.items()
        if len(names) == 1 and label and label not in keys
    }


class MappingError(ValueError):
    """A mapping that cannot be used; the message says which entry and why."""


def _fold(header: str) -> str:
    return re.sub(r"[\s_\-./()（）:：#*]+", "", header.strip().lower())


@dataclass
class ColumnMapping:
    """For each column position of the file, the field it fills (None: ignored)."""

    kind: str
    targets: list[str | None]
    custom_fields: frozenset[str] = field(default_factory=frozenset)
    # The file's header, position by position: what the user calls each column.
    headers: list[str] = field(default_factory=list)

    def apply(self, cells: list[str]) -> dict[str, str]:
        """The row's values by field; several columns of one multi-valued field are joined."""
        values: dict[str, str] = {}
        for position, target in enumerate(self.targets):
            if target is None or position >= len(cells):
                continue
            cell = cells[position].strip()
            if not cell:
                continue
            if target in values and (target in MULTI_VALUED or target.startswith("tags")):
                values[target] = f"{values[target]};{cell}"
            else:
                values[target] = cell
        return values

    @property
    def used(self) -> list[str]:
        return sorted({t for t in self.targets if t})

    def column_name(self, field_name: str) -> str:
        """The column that fills a field, as the user's file names it, with the field beside
        it (``手机 (phone)``): the user knows their header, and the field says what Guanxi read
        it as. The field alone when the header is the field's name or no column fills it."""
        headers = self.headers_of(field_name)
        return named_column(headers, field_name) if headers else field_name

    def column_kept(self, field_name: str) -> "str | Summary":
        """:meth:`column_name` for a reason that is kept untranslated: the headers are the
        file's, the way they are named with the field is read in the reader's language."""
        headers = self.headers_of(field_name)
        if not headers:
            return field_name
        # gettext_noop: the message is named_column's, translated where the reason is read.
        return Summary(
            gettext_noop("%(column)s (%(field)s)"), {"column": headers, "field": field_name}
        )

    def headers_of(self, field_name: str) -> str:
        """The headers of the columns that fill a field (``电话 / 手机``); "" when none does
        or the header is the field's name."""
        headers = [
            header.strip()
            for header, target in zip(self.headers, self.targets, strict=False)
            if target == field_name and header.strip()
        ]
        headers = list(dict.fromkeys(headers))  # two 电话 columns are one name
        if not headers or headers == [field_name]:
            return ""
        return " / ".join(headers)

    def naming_columns(self, reasons: list[str]) -> list[str]:
        """A rejected row's reasons with each column named as the user's file names it.

        The checks write a reason as ``field: what is wrong`` (some Chinese translations with
        a full-width colon): they see a row's values by field, not by column. The mapping knows
        which header each field came from, so the names are put in here, where every importer
        records its rejected rows: ``phone: …`` becomes ``手机 (phone): …`` for a file whose 手机
        column was mapped to it. A reason of the file's reader names its column by the header
        already; one whose header is a field's key but holds another field is left as it is.
        """
        named = []
        for reason in reasons:
            field_name = self.field_to_name(reason)
            if field_name is not None:
                reason = self.column_name(field_name) + reason[len(field_name) :]
            named.append(reason)
        return named

    def field_to_name(self, reason: str) -> str | None:
        """The field a reason begins with, when :meth:`naming_columns` names its column."""
        field_name = reason_field(reason)
        if field_name is None or field_name not in set(self.targets) - {None}:
            return None
        elsewhere = {h for h, t in zip(self.headers, self.targets, strict=False) if t != h}
        return None if field_name in elsewhere else field_name


def repeated_headers(header: list[str]) -> list[str]:
    """Header names that more than one column has (a blank header counts as a name). A mapping
    says which field a column fills by its header, so such columns cannot be told apart."""
    return sorted({name for name in header if header.count(name) > 1})


def repeated_headers_message(repeated: list[str]) -> str:
    names = ", ".join(f"“{name}”" if name else _("(no header)") for name in repeated)
    return _(
        "Several columns of the file have the same header: %(names)s. A column is mapped by "
        "its header, so give every column a distinct name in the file and import it again."
    ) % {"names": names}


# Headers of Guanxi's own customer export (guanxi/customers/exports.py) that are not field names
# themselves but fill one: an export edited and imported again, without a mapping, must not
# silently leave its phones and emails behind, nor come back as new customers for want of the
# Guanxi id its ``id`` column holds.
EXPORT_HEADERS = {"customers": {"phones": "phone", "emails": "email"}}


# The field each column of the customer export fills where it is not the column's own name:
# the export's own headers above, its id (the Guanxi id), and the two timestamps, which fill none.
EXPORT_COLUMN_FIELDS = {
    **EXPORT_HEADERS["customers"],
    "id": "guanxi_id",
    "created_at": None,
    "updated_at": None,
}


@functools.cache
def readable_export_headers() -> dict[str, str]:
    """The headers of the customer export made for reading (its columns' names, see
    ``customers.exports.readable_header``) in every language of the site, to the field each
    column fills, so that such a file comes back into the fields it came from as the one for
    re-import does. A name that two columns share in some language, even written differently,
    would name neither and is left out (a test keeps the export clear of that). The timestamps
    fill no field."""
    from guanxi.customers.exports import EXPORT_COLUMNS, readable_header

    found: dict[str, str] = {}
    fields: dict[str, set[str]] = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for column in EXPORT_COLUMNS:
                target = EXPORT_COLUMN_FIELDS.get(column, column)
                if target is not None:
                    name = readable_header(column)
                    found[name] = target
                    fields.setdefault(_fold(name), set()).add(target)
    return {name: target for name, target in found.items() if len(fields[_fold(name)]) == 1}


@functools.cache
def _readable_export_headers_folded() -> dict[str, str]:
    return {_fold(name): target for name, target in readable_export_headers().items()}


def _export_headers(kind: str, header: list[str], *, folded: bool = False) -> dict[str, str]:
    """:data:`EXPORT_HEADERS` for a file, with its ``id`` column read as the Guanxi id when the
    file has an ``external_id`` column too, as the export does. Another file's ``id`` is most
    often the key of the system it came from: read as Guanxi's, its rows would update whichever
    customers happen to have those numbers.

    A customer file's headers that are those of the export for reading, in either language,
    fill the fields their columns came from. They take precedence over the common headers and
    the fields' labels, which read some of these names as another field: "Type" is the kind
    for the import and "Region" an address's province, so the export heads the party type and
    the sales region by names of their own, which only this list maps. They are taken as
    written, unless ``folded`` (for a suggestion, which the user confirms): without a mapping,
    a header that is only like one ("电 话") is left out and named, as any other."""
    exported = EXPORT_HEADERS.get(kind, {})
    if kind == "customers":
        if folded:
            readable = _readable_export_headers_folded()
            names = {name: readable.get(_fold(name)) for name in header}
        else:
            readable = readable_export_headers()
            names = {name: readable.get(name.strip()) for name in header}
        exported = {**{n: t for n, t in names.items() if t}, **exported}
        if "id" in header and "external_id" in header:
            exported = {**exported, "id": "guanxi_id"}
    return exported


def _is_key(name: str, *, kind: str, allowed: set[str]) -> bool:
    """Whether a header is the key of one of ``allowed``, read as that field. A custom field's
    key is a slug an administrator chose, which may be written as a header of the customer export
    made for reading ("Tags", "Industry", "Name"): that export holds no custom fields, so such a
    header is its column's, not the custom field's."""
    if name not in allowed:
        return False
    if kind != "customers" or name in FIELDS_BY_KIND[kind]:
        return True
    return name.strip() not in readable_export_headers()


def allowed_fields(kind: str, custom_field_keys: frozenset[str] = frozenset()) -> set[str]:
    fields = set(FIELDS_BY_KIND[kind])
    if kind == "customers":
        fields |= set(custom_field_keys)
    return fields


def build_mapping(
    header: list[str],
    *,
    kind: str,
    explicit: Mapping[str, str | None] | None = None,
    custom_field_keys: frozenset[str] = frozenset(),
) -> ColumnMapping:
    """The mapping for a file's header: ``explicit`` (from a mapping file or the web form) for
    the headers it names, the header itself where it is a field name (or a header of Guanxi's
    own export, :data:`EXPORT_HEADERS`). Raises
    :class:`MappingError` for a target that is no field, or when a required field is missing."""
    allowed = allowed_fields(kind, custom_field_keys)
    explicit = dict(explicit or {})
    for header_name, target in explicit.items():
        if target not in (None, "") and target not in allowed:
            raise MappingError(
                _(
                    "The mapping sends “%(column)s” to “%(field)s”, which is not a field; "
                    "fields are: %(fields)s."
                )
                % {"column": header_name, "field": target, "fields": ", ".join(sorted(allowed))}
            )
    unknown = sorted(set(explicit) - set(header))
    if unknown:
        raise MappingError(
            _("The mapping names columns the file does not have: %(columns)s.")
            % {"columns": ", ".join(unknown)}
        )
    targets: list[str | None] = []
    exported = _export_headers(kind, header)
    for name in header:
        if name in explicit:
            targets.append(explicit[name] or None)
        elif _is_key(name, kind=kind, allowed=allowed):
            targets.append(name)
        else:
            targets.append(exported.get(name))
    required = {
        "customers": [("name",)],
        "interactions": [("subject",), ("customer_external_id", "customer_id")],
        "orders": [("ordered_on",), ("amount",), ("customer_external_id", "customer_id")],
    }[kind]
    # Columns sharing a header share its mapping: refused when that sends them to a field that
    # holds one value, since the user may have meant them for different fields. Ignored ones do
    # no harm, and a field of several values (two 电话 columns, mobile and landline) takes both.
    repeated = [
        name
        for name in repeated_headers(header)
        if any(
            target and target not in MULTI_VALUED and not target.startswith("tags")
            for column, target in zip(header, targets, strict=True)
            if column == name
        )
    ]
    if repeated:
        raise MappingError(repeated_headers_message(repeated))
    for options in required:
        if not any(option in targets for option in options):
            fields = options[0]
            for option in options[1:]:
                fields = _("%(first)s or %(second)s") % {"first": fields, "second": option}
            raise MappingError(
                _("No column is mapped to %(fields)s, which every row needs.") % {"fields": fields}
            )
    singles = [t for t in targets if t and t not in MULTI_VALUED]
    doubled = sorted({t for t in singles if singles.count(t) > 1})
    if doubled:
        raise MappingError(
            _("Several columns are mapped to %(fields)s; choose one.")
            % {"fields": ", ".join(doubled)}
        )
    return ColumnMapping(
        kind=kind,
        targets=targets,
        custom_fields=frozenset(custom_field_keys),
        headers=list(header),
    )


def suggest_mapping(
    header: list[str], *, kind: str, custom_field_keys: frozenset[str] = frozenset()
) -> dict[str, str | None]:
    """A first guess for the web form: exact field names, then common headers."""
    allowed = allowed_fields(kind, custom_field_keys)
    synonyms = SYNONYMS[kind]
    suggestion: dict[str, str | None] = {}
    exported = _export_headers(kind, header, folded=True)
    labels = field_labels(kind)
    # A field's own header takes it before any header that only means it: Guanxi's export has
    # ``id`` (Guanxi's number) before ``external_id``, and ``id`` took external_id as a common
    # header for it, leaving the real column unmapped.
    keys = {name for name in header if _is_key(name, kind=kind, allowed=allowed)}
    taken: set[str] = {name for name in keys if name not in MULTI_VALUED}
    for name in header:
        folded = _fold(name)
        target = name if name in keys else exported.get(name) or synonyms.get(folded)
        # Then the fields' labels as the app shows them, in either language (地区 is the sales
        # region on the customer form), which no list of common headers keeps up with.
        target = target or labels.get(folded)
        if target is None and folded in {_fold(k) for k in allowed}:
            target = next(k for k in allowed if _fold(k) == folded)
        if target and target != name and target not in MULTI_VALUED and target in taken:
            target = None
        suggestion[name] = target
        if target:
            taken.add(target)
    return suggestion


def read_mapping_file(path: Path | str) -> dict[str, str | None]:
    """A mapping file: one JSON object from header to field name."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MappingError(
            _("The mapping file cannot be read: %(error)s") % {"error": error}
        ) from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in data.items()
    ):
        raise MappingError(
            _("The mapping file must hold one JSON object such as %(example)s.")
            % {"example": '{"姓名": "name", "手机": "phone"}'}
        )
    return data
