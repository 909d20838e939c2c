"""A generated data set of Chinese customers with known duplicates.

FEBRL (see :mod:`.febrl`) is made of Australian names and addresses; it says nothing about
张伟 written as 張偉 or "Wei Zhang", phones with and without +86, or 华瑞科技 entered as
上海华瑞科技有限公司. This generator makes customers the way a Chinese CRM holds them and the
duplicates its salespeople actually create: the same person typed again from a business card,
with the name in traditional characters or pinyin, the phone in another format, the company
with or without its legal form and city, some fields left out, a typo in the street.

It also makes what fools careless matching — the hard negatives:

* very common names: surnames and given names are drawn with realistic skew, so many different
  people share 张伟 or 王芳, some of them in the same city;
* colleagues: people of one organisation share its name, address and switchboard number;
* families: people of one household share surname, address and home phone;
* branches: organisations of the same brand in different cities are different customers.

Every record carries the entity it belongs to, which is the ground truth. Each duplicate keeps
at least one thing a person would recognise it by (a phone, an email, the ID number, or name
with birth date or address); a duplicate sharing nothing but a common name is not findable by
anyone and is not generated.
"""

import datetime as dt
import functools
import random
from dataclasses import dataclass, field

from pypinyin import lazy_pinyin

from guanxi.core.text import SURNAME_READINGS

# Roughly the frequency order of China's most common surnames (weights are relative shares).
SURNAMES = (
    ("王", 72),
    ("李", 71),
    ("张", 68),
    ("刘", 54),
    ("陈", 45),
    ("杨", 31),
    ("黄", 24),
    ("赵", 20),
    ("吴", 19),
    ("周", 19),
    ("徐", 15),
    ("孙", 15),
    ("马", 13),
    ("朱", 12),
    ("胡", 11),
    ("郭", 11),
    ("何", 10),
    ("林", 9),
    ("罗", 9),
    ("高", 9),
    ("郑", 8),
    ("梁", 7),
    ("谢", 6),
    ("宋", 6),
    ("唐", 6),
    ("许", 5),
    ("韩", 5),
    ("冯", 5),
    ("邓", 5),
    ("曹", 5),
    ("彭", 4),
    ("曾", 4),
    ("萧", 3),
    ("田", 3),
    ("董", 3),
    ("潘", 3),
    ("袁", 3),
    ("蔡", 3),
    ("蒋", 3),
    ("余", 3),
    ("于", 3),
    ("杜", 2),
    ("叶", 2),
    ("程", 2),
    ("魏", 2),
    ("苏", 2),
    ("吕", 2),
    ("丁", 2),
    ("任", 2),
    ("卢", 2),
    ("单", 1),
    ("欧阳", 1),
    ("司马", 1),
)
# Given names, the most common ones much more common (伟, 芳, 娜 … are shared by millions).
GIVEN_NAMES = (
    ("伟", 30),
    ("芳", 25),
    ("娜", 22),
    ("敏", 20),
    ("静", 20),
    ("丽", 18),
    ("强", 18),
    ("磊", 16),
    ("军", 16),
    ("洋", 14),
    ("勇", 14),
    ("艳", 13),
    ("杰", 13),
    ("娟", 12),
    ("涛", 12),
    ("明", 11),
    ("超", 11),
    ("秀英", 10),
    ("霞", 10),
    ("平", 9),
    ("刚", 9),
    ("桂英", 8),
    ("建华", 5),
    ("志强", 5),
    ("晓东", 4),
    ("海燕", 4),
    ("丽娟", 4),
    ("文博", 3),
    ("子轩", 3),
    ("雨涵", 3),
    ("浩然", 3),
    ("欣怡", 3),
    ("梓涵", 3),
    ("宇航", 2),
    ("思远", 2),
    ("嘉怡", 2),
    ("俊杰", 2),
    ("晨曦", 2),
    ("佳琪", 2),
    ("鹏飞", 2),
    ("春梅", 2),
    ("国强", 2),
    ("建国", 2),
    ("红梅", 2),
    ("玉兰", 2),
    ("志明", 2),
    ("婷婷", 2),
    ("晓燕", 2),
    ("立新", 1),
    ("慧敏", 1),
    ("一鸣", 1),
    ("若曦", 1),
    ("书涵", 1),
    ("振华", 1),
    ("美玲", 1),
)
# Characters pronounced like a common given name (张伟 typed as 张玮 from a phone call).
HOMOPHONES = {"伟": "玮", "芳": "方", "娜": "纳", "静": "晶", "丽": "莉", "明": "铭", "涛": "韬"}


@dataclass(frozen=True)
class City:
    name: str
    province: str
    postcode: str
    area_code: str
    districts: tuple[str, ...]


CITIES = (
    City("上海", "上海市", "200", "21", ("浦东新区", "徐汇区", "静安区", "闵行区")),
    City("北京", "北京市", "100", "10", ("朝阳区", "海淀区", "东城区", "丰台区")),
    City("广州", "广东省", "510", "20", ("天河区", "越秀区", "番禺区")),
    City("深圳", "广东省", "518", "755", ("南山区", "福田区", "宝安区")),
    City("杭州", "浙江省", "310", "571", ("西湖区", "滨江区", "上城区")),
    City("南京", "江苏省", "210", "25", ("玄武区", "鼓楼区", "江宁区")),
    City("成都", "四川省", "610", "28", ("锦江区", "武侯区")),
    City("武汉", "湖北省", "430", "27", ("武昌区", "江汉区")),
)
ROADS = (
    "人民路",
    "中山路",
    "建设路",
    "科技路",
    "解放路",
    "和平路",
    "文化路",
    "学院路",
    "滨江大道",
    "世纪大道",
    "南京路",
    "延安路",
)
BRANDS = ("华瑞", "鑫源", "宏达", "恒信", "金桥", "泰和", "博远", "瑞丰", "天成", "永安")
BUSINESSES = ("科技", "贸易", "机械", "电子", "物流", "食品", "医药", "建材")
LEGAL_FORMS = ("有限公司", "股份有限公司", "集团有限公司")
MAIL_DOMAINS = ("163.com", "qq.com", "126.com", "sina.com", "gmail.com")


@dataclass
class GeneratedCustomer:
    """A customer record as an import row or the service would take it, with its entity."""

    external_id: str
    entity: str
    party_type: str
    name: str
    company: str = ""
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    birth_date: dt.date | None = None
    id_number: str = ""
    addresses: list[dict] = field(default_factory=list)


def _weighted(rng: random.Random, items) -> str:
    values, weights = zip(*items, strict=True)
    return rng.choices(values, weights=weights)[0]


@functools.cache
def _to_traditional():
    import opencc

    return opencc.OpenCC("s2t")


def _traditional(text: str) -> str:
    return _to_traditional().convert(text)


def _pinyin_name(name: str, surname: str, rng: random.Random) -> str:
    """How the name is written in Latin letters: "Zhang Wei", "Wei Zhang", "ZHANG Wei",
    "zhangwei", "Xiuying Wang"."""
    family = "".join(lazy_pinyin(surname))
    if surname[:1] in SURNAME_READINGS and len(surname) == 1:
        family = SURNAME_READINGS[surname]
    given = "".join(lazy_pinyin(name[len(surname) :]))
    style = rng.random()
    if style < 0.4:
        return f"{family.title()} {given.title()}"
    if style < 0.7:
        return f"{given.title()} {family.title()}"
    if style < 0.85:
        return f"{family.upper()} {given.title()}"
    return f"{family}{given}"


# Prefixes of Chinese mobile networks that libphonenumber knows as valid mobile ranges.
MOBILE_PREFIXES = (
    *range(130, 140),
    *(150, 151, 152, 153, 155, 156, 157, 158, 159, 166, 176, 177, 178),
    *range(180, 190),
    *(191, 198, 199),
)


def _mobile(rng: random.Random) -> str:
    return f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"


def _format_mobile(number: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.3:
        return number
    if style < 0.5:
        return f"+86 {number[:3]} {number[3:7]} {number[7:]}"
    if style < 0.7:
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    if style < 0.85:
        return f"86{number}"
    return f"{number[:3]} {number[3:7]} {number[7:]}"


def _landline(city: City, rng: random.Random) -> str:
    digits = 8
    first = rng.choice("2345678")
    return f"0{city.area_code}-{first}{rng.randrange(10 ** (digits - 1)):0{digits - 1}d}"


def _id_number(rng: random.Random, birth: dt.date) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    first17 = f"{rng.randrange(110000, 660000)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]
    return first17 + check


def _typo(text: str, rng: random.Random) -> str:
    """Drop, double or swap one character."""
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.random()
    if kind < 0.4:
        return text[:i] + text[i + 1 :]
    if kind < 0.7:
        return text[:i] + text[i] + text[i:]
    return text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]


class ChineseCustomerGenerator:
    """Makes ``entities`` customers (people and organisations) and duplicates of some of them.

    ``duplicate_share`` of the entities get between one and three duplicates. The same seed
    gives the same data.
    """

    def __init__(self, *, entities: int = 2000, duplicate_share: float = 0.3, seed: int = 7):
        self.rng = random.Random(seed)
        self.entities = entities
        self.duplicate_share = duplicate_share
        self.records: list[GeneratedCustomer] = []
        self._serial = 0

    def _next_id(self) -> str:
        self._serial += 1
        return f"GEN-{self._serial:06d}"

    def _street(self, city: City) -> str:
        rng = self.rng
        district, road = rng.choice(city.districts), rng.choice(ROADS)
        return f"{city.province}{city.name}市{district}{road}{rng.randint(1, 999)}号"

    def _address(self, city: City, street: str | None = None) -> dict:
        return {
            "street": street or self._street(city),
            "city": f"{city.name}市",
            "region": city.province,
            "postcode": f"{city.postcode}{self.rng.randrange(1000):03d}",
        }

    def generate(self) -> list[GeneratedCustomer]:
        rng = self.rng
        originals: list[GeneratedCustomer] = []
        organisations: list[GeneratedCustomer] = []
        brand_cities: dict[str, list[City]] = {}
        for _ in range(max(1, self.entities // 8)):
            brand = rng.choice(BRANDS) + rng.choice(BUSINESSES)
            city = rng.choice(CITIES)
            if city in brand_cities.get(brand, []):
                continue
            brand_cities.setdefault(brand, []).append(city)  # branches: same brand, new city
            organisation = GeneratedCustomer(
                external_id=self._next_id(),
                entity="",
                party_type="organization",
                name=f"{city.name}{brand}{rng.choice(LEGAL_FORMS)}",
                phones=[_landline(city, rng)],
                emails=[f"info@{brand}-{city.area_code}.example.cn"] if rng.random() < 0.5 else [],
                addresses=[self._address(city)],
            )
            organisation.entity = organisation.external_id
            organisations.append(organisation)
        originals += organisations
        households: list[tuple[str, dict, str, set[str]]] = []
        while len(originals) < self.entities:
            surname = _weighted(rng, SURNAMES)
            name = surname + _weighted(rng, GIVEN_NAMES)
            city = rng.choice(CITIES)
            person = GeneratedCustomer(
                external_id=self._next_id(), entity="", party_type="person", name=name
            )
            person.entity = person.external_id
            person.phones = [_mobile(rng)]
            roll = rng.random()
            if roll < 0.35 and organisations:  # a colleague: employer's address and switchboard
                employer = rng.choice(organisations)
                person.company = employer.name
                person.addresses = [dict(employer.addresses[0])]
                if rng.random() < 0.5:
                    person.phones.append(employer.phones[0])
            elif roll < 0.5 and households:  # family: same surname, home and home phone
                family_surname, home, home_phone, taken = rng.choice(households)
                given = _weighted(rng, GIVEN_NAMES)
                if given in taken:  # parents do not give two children one name
                    continue
                taken.add(given)
                person.name = family_surname + given
                person.addresses = [dict(home)]
                person.phones.append(home_phone)
            else:
                person.addresses = [self._address(city)] if rng.random() < 0.8 else []
                if person.addresses and rng.random() < 0.3:
                    given = name[len(surname) :]
                    home = (surname, person.addresses[0], _landline(city, rng), {given})
                    households.append(home)
            if rng.random() < 0.6:
                local = "".join(lazy_pinyin(person.name)) + str(rng.randrange(10, 9999))
                person.emails = [f"{local}@{rng.choice(MAIL_DOMAINS)}"]
            if rng.random() < 0.5:
                person.birth_date = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000))
                if rng.random() < 0.5:
                    person.id_number = _id_number(rng, person.birth_date)
            originals.append(person)
        records = list(originals)
        for original in originals:
            if rng.random() >= self.duplicate_share:
                continue
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                duplicate = self._duplicate(original)
                if duplicate is not None:
                    records.append(duplicate)
        rng.shuffle(records)
        self.records = records
        return records

    def _duplicate(self, original: GeneratedCustomer) -> GeneratedCustomer | None:
        rng = self.rng
        dup = GeneratedCustomer(
            external_id=self._next_id(),
            entity=original.entity,
            party_type=original.party_type,
            name=original.name,
            company=original.company,
        )
        if original.party_type == "organization":
            brand_and_form = original.name[len(_city_prefix(original.name)) :]
            roll = rng.random()
            if roll < 0.3:
                dup.name = brand_and_form  # without the city
            elif roll < 0.5:
                dup.name = _traditional(original.name)
            elif roll < 0.7:
                base = brand_and_form
                for form in LEGAL_FORMS:
                    base = base.removesuffix(form)
                dup.name = base  # brand and business only
        else:
            surname = next(s for s, _w in SURNAMES if original.name.startswith(s))
            roll = rng.random()
            if roll < 0.2:
                dup.name = _traditional(original.name)
            elif roll < 0.4:
                dup.name = _pinyin_name(original.name, surname, rng)
            elif roll < 0.5:
                given = original.name[len(surname) :]
                if given[:1] in HOMOPHONES:
                    dup.name = surname + HOMOPHONES[given[0]] + given[1:]
            elif roll < 0.55:
                dup.name = "　".join(original.name)  # typed with full-width spaces
        # Contact details: what the second salesperson wrote down.
        kept = 0
        for number in original.phones:
            if rng.random() < 0.7:
                dup.phones.append(_format_mobile(number, rng) if number.startswith("1") else number)
                kept += 1
        for address in original.emails:
            if rng.random() < 0.6:
                style = rng.random()
                dup.emails.append(
                    address.upper() if style < 0.3 else f" {address} " if style < 0.5 else address
                )
                kept += 1
        if original.id_number and rng.random() < 0.5:
            dup.id_number = original.id_number
            kept += 1
        if original.birth_date and rng.random() < 0.6:
            dup.birth_date = original.birth_date
            kept += 1
        for address in original.addresses:
            if rng.random() < 0.7:
                kept += 1
                copy = dict(address)
                roll = rng.random()
                if roll < 0.25:
                    copy["street"] = _typo(copy["street"], rng)
                elif roll < 0.4:
                    copy["postcode"] = ""
                elif roll < 0.55:
                    copy["city"] = copy["city"].removesuffix("市")
                    copy["street"] = copy["street"].removeprefix(copy["region"])
                dup.addresses.append(copy)
        if rng.random() < 0.15:
            dup.phones.append(_mobile(rng))  # a number the original did not have
        return dup if kept else None


def _city_prefix(name: str) -> str:
    for city in CITIES:
        if name.startswith(city.name):
            return city.name
    return ""


def generate(
    *, entities: int = 2000, duplicate_share: float = 0.3, seed: int = 7
) -> list[GeneratedCustomer]:
    """The records of a generated data set (shuffled); see the module docstring."""
    return ChineseCustomerGenerator(
        entities=entities, duplicate_share=duplicate_share, seed=seed
    ).generate()
