"""Whether a row keyed by its Guanxi id is the customer that id names here.

A Guanxi id is one installation's own number. An export made on another installation (a test or
staging site, a second company's database, an old backup restored elsewhere) carries ids that
name other customers here, and its rows would overwrite them. So a row with a Guanxi id must
agree with the stored customer on one identifying thing before it updates them: the external
id, a phone or an email (a masked phone by its mask), or the name, read as the duplicate engine
reads names. An edited export keeps most of these, so a name corrected with the phone left as
it was, or a phone changed under the same name, still goes back into its customer.

The names: the same words in any order, case, width or script form, or the same sound
(张伟 and 张玮, 张伟 and "Zhang Wei": the slip an input method makes with a Chinese name, and
what a typo fix of one mostly is), or one inside the other (a name completed, a note added:
张伟 and 张伟（已离职）; at least two Han characters or two words in the shorter). Beyond
that, one slip (a letter changed, added, dropped or two swapped: the optimal string alignment
distance) in a Latin name of at least five letters, two from twelve; and one character in
Chinese names of at least three. Closer is not enough
for short names: "Jane Smith" and "John Smith" are three slips apart, and two-character Chinese
names sharing a surname (王芳, 王芬) are too common among strangers (王, 李 and 张 are each the
surname of about one person in fourteen) to take one different character for a typo. Such a
fix with no phone, email or external id to go by is refused, saying what to do.

An organisation's name is compared without its legal form and leading place, as the duplicate
engine keys it: 北京华美电子有限公司 and 华美电子股份有限公司 are one company written two ways. A
different place says another company (北京华美电子 and 杭州华美电子 register separately), and so
does a branch (北京华美电子有限公司上海分公司 is a customer of its own). No slip is taken for a
typo, and Han characters must be the same, not only sound the same, with the same Latin
letters beside them: what is left of a company name is its trade name and its trade (华美电子
and 华为电子, 天成科技 and 天诚科技, ABC科技 and XYZ科技, "Northwind Trading" and "Southwind
Trading"), where one character is the whole difference between two companies. A shorter name
must begin the longer one, as a trade name does (华为 and 华为技术): the trade alone (电子) or a
name inside another ("Pacific Trading" in "Asia Pacific Trading") names no one company.
"""

import re
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

from guanxi.core.masking import mask_phone
from guanxi.dedup.matching.normalize import (
    NameForms,
    clean_text,
    company_name_key,
    company_place,
    email_key,
    organization_name_forms,
    person_name_forms,
)

from .customer_rows import CustomerRow, _split

# (letters in the shorter name, slips allowed): the first that the name reaches applies.
LATIN_SLIPS = ((12, 2), (5, 1))
# Han characters both names need before one of them may differ.
HAN_CHARACTERS_FOR_A_SLIP = 3


@dataclass
class StoredIdentity:
    """What a stored customer is known by, to compare a row with."""

    name: str
    external_id: str | None
    organization: bool = False
    phones: set[str] = field(default_factory=set)  # E.164
    phone_masks: set[str] = field(default_factory=set)  # as exported, without separators
    emails: set[str] = field(default_factory=set)  # email_key

    def add_phone(self, number: str, display: str) -> None:
        self.phones.add(number)
        self.phone_masks.add(_unseparated(mask_phone(display)))


def row_agrees(row: CustomerRow, stored: StoredIdentity) -> bool:
    """Whether the row shares an external id, a phone, an email or the name with the stored
    customer (the cheap comparisons first)."""
    if row.external_id and row.external_id == stored.external_id:
        return True
    if any(phone.parsed.e164 in stored.phones for phone in row.phones):
        return True
    if any(email_key(email["address"]) in stored.emails for email in row.emails):
        return True
    # Masked phones are left out of the row's phones (they update nothing): read from the cell.
    for part in _split(row.cells.get("phone", "")):
        if "*" in part and _unseparated(part) in stored.phone_masks:
            return True
    given = row.scalars.get("name", "")
    return names_agree(stored.name, given, organization=stored.organization)


def names_agree(stored: str, given: str, *, organization: bool = False) -> bool:
    """Whether two names are one person's or, with ``organization``, one organisation's as
    written, or a typo fix of it (see the module docstring)."""
    if organization:
        return _organisation_names_agree(stored, given)
    a, b = person_name_forms(stored), person_name_forms(given)
    if not a.tokens or not b.tokens:
        return False
    if a.key == b.key or a.joined == b.joined:
        return True
    if a.han or b.han:
        if _latin(stored) != _latin(given):
            return False
        if _contained(a.han, b.han):
            return True  # 张伟 completed to 张伟明, or a note added: 张伟（已离职）
        shorter_han = min(a.han, b.han, key=len)
        return len(shorter_han) >= HAN_CHARACTERS_FOR_A_SLIP and OSA.distance(a.han, b.han) <= 1
    if _words_contained(a, b):
        return True  # "Dylan Waller" completed to "Dylan J. Waller"
    shorter = min(len(a.joined), len(b.joined))
    slips = next((n for letters, n in LATIN_SLIPS if shorter >= letters), 0)
    return min(OSA.distance(a.key, b.key), OSA.distance(a.joined, b.joined)) <= slips


def _organisation_names_agree(stored: str, given: str) -> bool:
    if _is_branch(stored) != _is_branch(given):
        return False  # 华美电子 and its 上海分公司: a customer each
    if len({_place(stored), _place(given)} - {""}) > 1:
        return False  # 北京华美电子 and 杭州华美电子: two companies
    a, b = organization_name_forms(stored), organization_name_forms(given)
    if not a.tokens or not b.tokens:
        return False
    if a.han and b.han:
        # The same characters, not the same sound: 天成科技 and 天诚科技 are two trade names;
        # and the same Latin letters beside them, which are as much the trade name (ABC科技).
        if _latin(company_name_key(stored)) != _latin(company_name_key(given)):
            return False
        return _begins(a.han, b.han)
    # One written in Han characters and one in pinyin meet by their sound (华美电子, Huamei
    # Dianzi); Latin names by their words.
    return a.key == b.key or a.joined == b.joined or _words_begin(a, b)


# What the name of a branch says it is (北京华美电子有限公司上海分公司, "… Shanghai Branch").
BRANCH_WORDS = ("分公司", "分店", "分行", "支行", "办事处", "营业部", "branch")


def _is_branch(name: str) -> bool:
    return any(word in clean_text(name) for word in BRANCH_WORDS)


def _place(name: str) -> str:
    """The place an organisation's name begins with. ``company_place`` finds one only with
    more than two characters after it, but the key leaves out one with two after it, so 上海华美
    and 北京华美 (北京大学 and 南京大学) would otherwise be the same name in no place."""
    place = company_place(name)
    key = company_name_key(name)
    if place or not organization_name_forms(name).han:
        return place
    text = _NOT_IN_KEY.sub("", clean_text(name))
    at = text.find(key) if key else -1
    return _PLACE_SUFFIX.sub("", text[:at]) if at > 0 else ""


_NOT_IN_KEY = re.compile(r"[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff0-9a-z]")
_PLACE_SUFFIX = re.compile("(省|市|自治区|特别行政区)$")


def _begins(a: str, b: str) -> bool:
    """Whether the shorter of two Han names, of two characters at least, begins the other: a
    company's trade name comes first and its trade after (华为 and 华为技术), and the trade alone
    (电子) names none."""
    shorter, longer = sorted((a, b), key=len)
    return len(shorter) >= 2 and longer.startswith(shorter)


def _words_begin(a: NameForms, b: NameForms) -> bool:
    """Whether the words of one organisation's name, two at least, begin the other's in their
    order ("Northwind Trading" and "Northwind Trading Import"; not "Asia Pacific Trading")."""
    fewer, more = sorted((a.tokens, b.tokens), key=len)
    return len(fewer) >= 2 and more[: len(fewer)] == fewer


def _contained(a: str, b: str) -> bool:
    """Whether the shorter of two Han names, of two characters at least, is inside the other."""
    shorter, longer = sorted((a, b), key=len)
    return len(shorter) >= 2 and shorter in longer


def _words_contained(a: NameForms, b: NameForms) -> bool:
    """Whether the words of one name, two at least, are all among the other's."""
    fewer, more = sorted((set(a.tokens), set(b.tokens)), key=len)
    return len(fewer) >= 2 and fewer <= more


def _latin(name: str) -> str:
    """A name's Latin letters and digits, folded: what is left beside its Han characters."""
    return "".join(ch for ch in clean_text(name) if ch.isascii() and ch.isalnum())


def _unseparated(number: str) -> str:
    """A number without the spaces, dashes and brackets it is displayed with."""
    return "".join(ch for ch in number if ch not in " -().\t")
