"""Customers made for the search tests, and what each query must find among them.

Shared by the selector tests and the API tests, so both go through the same cases. The `company`
fixture's own customers are there too: "Rep Customer 张伟" (the rep's) and five Latin names,
all with the word "Customer".
"""

from guanxi.customers.services import customer_create

# query -> names the administrator finds (the company fixture's customers included)
CASES: dict[str, set[str]] = {
    # a two-character fragment inside a three-character name, and the whole name
    "伟明": {"张伟明"},
    "张伟明": {"张伟明"},
    "张伟": {"张伟明", "Rep Customer 张伟"},
    # pinyin, joined or spaced, initials
    "zhangweiming": {"张伟明"},
    "zhangwei": {"张伟明", "Rep Customer 张伟", "Zhang Wei"},
    "zhang wei": {"张伟明", "Rep Customer 张伟", "Zhang Wei"},
    "ZhangWei": {"张伟明", "Rep Customer 张伟", "Zhang Wei"},
    "zwm": {"张伟明"},
    "zw": {"张伟明", "Rep Customer 张伟"},
    "weiming": {"张伟明"},
    # traditional finds simplified, simplified finds traditional
    "張偉明": {"张伟明"},
    "陈美玲": {"陳美玲"},
    "美玲": {"陳美玲"},
    "chenmeiling": {"陳美玲"},
    # OpenCC converts by phrase: 乾 stays in 乾坤 but alone becomes 干, so fragments of the name
    # are also looked for as typed
    "张乾": {"张乾坤"},
    "乾坤": {"张乾坤"},
    "乾": {"张乾坤"},
    "zhangqiankun": {"张乾坤"},
    # phones: last four digits, a middle fragment, dashes, spaces, with and without +86
    "5678": {"张伟明", "王芳"},
    "1234": {"张伟明"},
    "3812345": {"张伟明"},
    "138-1234": {"张伟明"},
    "138-1234-5678": {"张伟明"},
    "138 1234 5678": {"张伟明"},
    "13812345678": {"张伟明"},
    "+86 138 1234 5678": {"张伟明"},
    "+8613812345678": {"张伟明"},
    "8613812345678": {"张伟明"},
    "(021) 6234-9876": {"Pacific Rim Trading Ltd."},
    "021-62349876": {"Pacific Rim Trading Ltd."},
    # a fragment in national format, with its area code; 021 alone is the area's numbers
    "021-6234": {"Pacific Rim Trading Ltd."},
    "(021) 6234": {"Pacific Rim Trading Ltd."},
    "021": {"Pacific Rim Trading Ltd."},
    "0216234": {"Pacific Rim Trading Ltd."},
    "021-9999": set(),
    # a mobile number dialled with a 0 in front, as from a landline in another city
    "0138-1234": {"张伟明"},
    "9876": {"Pacific Rim Trading Ltd."},
    "1111": {"Two Phones"},
    # every run of four digits of this is in one of its two phone numbers, but never all in one
    "111122223333": set(),
    "1381111": {"Two Phones"},
    # emails: whole, local part, domain, a piece of the local part
    "zhang.wei_88@163.com": {"张伟明"},
    "zhang.wei_88": {"张伟明"},
    "163.com": {"张伟明"},
    "@163.com": {"张伟明"},
    "88": {"张伟明"},
    "sales@pacific-rim.com": {"Pacific Rim Trading Ltd."},
    # tags, by their text, a fragment and pinyin
    "重点客户": {"张伟明"},
    "客户": {"张伟明"},
    "kehu": {"张伟明"},
    "vip": {"Zhang Wei"},
    # external ids
    "ERP-2024-0001": {"张伟明"},
    "erp-2024": {"张伟明"},
    # company names: own, of the organisation a person belongs to, in pinyin
    "上海华瑞": {"张伟明"},
    "华瑞贸易": {"张伟明"},
    "huarui": {"张伟明"},
    # two characters are looked up whole: at the start, middle and end of a company name, in an
    # organisation's own name and the company of its people
    "上海": {"张伟明"},
    "海华": {"张伟明"},
    "公司": {"张伟明", "北京宏达科技有限公司", "孙丽"},
    "宏达": {"北京宏达科技有限公司", "孙丽"},
    "达科": {"北京宏达科技有限公司", "孙丽"},
    "Pacific Rim": {"Pacific Rim Trading Ltd.", "Li Lei"},
    "pacific li": {"Li Lei"},
    "Li Lei": {"Li Lei"},
    "lilei": {"Li Lei"},
    # words of several kinds together
    "张伟 5678": {"张伟明"},
    "zhang 163": {"张伟明"},
    "王芳": {"王芳"},
    "customer": {
        "Rep Customer 张伟",
        "Teammate Customer",
        "Team B Customer",
        "West Customer",
        "Agent Customer",
        "Unowned Customer",
    },
    # nothing matches
    "nobody-like-this": set(),
    "张伟 9999": set(),
}

# What someone who sees phone numbers masked (+86 138 **** 5678) finds where it differs: hidden
# digits find no one, lest searching for them tell what they are; the last four, the visible
# start and the whole number still do.
SEEN_MASKED: dict[str, set[str]] = {
    **CASES,
    "1234": set(),
    "3812345": set(),
    "138-1234": set(),
    "021-6234": set(),
    "(021) 6234": set(),
    "0216234": set(),
    "0138-1234": set(),
    "1111": set(),
    "1381111": set(),
}

# Input that must never be an error, only (at most) an empty result.
NONSENSE = [
    "'",
    '"',
    "'\"*:&|!()",
    "\\",
    "a\\'b",
    "*",
    "张伟*",
    "zhang:*",
    "a & b | !c",
    "OR",
    "NEAR(a b)",
    "zhang AND",
    "((",
    "%_%",
    "' OR 1=1 --",
    "--",
    "@",
    "+",
    "中文'\"",
    "ǅ Ⅻ ① ²",
    "\U0001f600",
    "x" * 200,
    "1" * 200,
]


def make_customers(company) -> dict[str, int]:
    """The search test customers, created through the service as the administrator; returns
    their ids by name."""
    admin = company.admin

    def create(**data):
        return customer_create(actor=admin, data=data)

    pacific = create(
        name="Pacific Rim Trading Ltd.",
        party_type="organization",
        phones=["+86 21 6234 9876"],
        emails=["sales@pacific-rim.com"],
        owner_id=company.rep_west.pk,
    )
    made = [
        create(
            name="张伟明",
            company="上海华瑞贸易有限公司",
            phones=["+86 138 1234 5678"],
            emails=["zhang.wei_88@163.com"],
            tags=["重点客户"],
            external_id="ERP-2024-0001",
            owner_id=company.rep.pk,
        ),
        create(name="陳美玲", owner_id=company.rep.pk),
        create(name="张乾坤", owner_id=company.rep.pk),
        create(name="Zhang Wei", tags=["VIP"], owner_id=company.teammate.pk),
        create(name="Li Lei", organization_id=pacific.pk, owner_id=company.rep_west.pk),
        create(name="Two Phones", phones=["13811112222", "13822223333"], owner_id=None),
        create(name="王芳", phones=["13900005678"], owner_id=company.rep_b.pk),
        pacific,
    ]
    hongda = create(
        name="北京宏达科技有限公司", party_type="organization", owner_id=company.rep_west.pk
    )
    made += [hongda, create(name="孙丽", organization_id=hongda.pk, owner_id=company.rep_west.pk)]
    return {customer.name: customer.pk for customer in made}
