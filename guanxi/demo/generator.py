"""The synthetic demo company's customers, as plain rows ready for bulk loading.

This module never touches the database: :class:`CustomerGenerator` turns a seed, a point in time
and the ids of the staff into rows (tuples in the column order of :data:`COLUMNS`) for customers
and everything hanging off them — phones, emails, addresses, tags, marketing consents,
interactions and the audit "create" event. The same seed, reference time and staff give the same
rows, chunk after chunk, so demos and benchmarks are repeatable.

Speed matters (a million customers are loaded in minutes), which shapes two choices:

* Values are drawn with :meth:`random.Random.random` against precomputed cumulative weights
  rather than ``random.choices`` per field.
* Pinyin is expensive (~50 µs a call), so every name part in the word lists below has its pinyin
  computed once, and a customer's search tokens are composed from those parts with the same
  :class:`guanxi.customers.search.SearchTokens` that
  :func:`~guanxi.customers.search.build_search_text` uses; the tokens of names that recur
  (people's names, English company names, tags) are kept once made. The result is exactly what
  ``build_search_text`` makes for the same record (the tests compare the two); the word lists
  avoid characters whose reading changes with their neighbours (重, 长, 行, 乐 …), which is what
  makes composing safe.
"""

import bisect
import datetime as dt
import itertools
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

from guanxi.core.text import fold
from guanxi.customers.search import SearchTokens, build_search_text, han_syllables, normalise

UTC = dt.UTC

# Column order of every generated row, by model attribute name (the loader maps them to columns).
COLUMNS: dict[str, tuple[str, ...]] = {
    "customer": (
        "id",
        "party_type",
        "name",
        "organization_id",
        "company",
        "job_title",
        "kind",
        "relationship_level",
        "lifecycle_stage",
        "industry",
        "region",
        "source_channel",
        "owner_id",
        "organization_owner_id",
        "custom_fields",
        "birth_date",
        "website",
        "notes",
        "external_id",
        "id_number_encrypted",
        "id_number_masked",
        "id_number_hash",
        "search_text",
        "version",
        "created_at",
        "updated_at",
        "created_by_id",
        "last_contacted_at",
        "deleted_at",
    ),
    "phone": ("id", "customer_id", "number", "display", "label", "is_primary"),
    "email": ("id", "customer_id", "address", "label", "is_primary"),
    "address": ("id", "customer_id", "label", "street", "city", "region", "postcode", "country"),
    "customer_tag": ("id", "customer_id", "tag_id"),
    "consent": (
        "id",
        "customer_id",
        "channel",
        "granted",
        "recorded_at",
        "method",
        "evidence",
        "recorded_by_id",
    ),
    "interaction": (
        "id",
        "customer_id",
        "channel",
        "direction",
        "subject",
        "notes",
        "staff_id",
        "occurred_at",
        "external_id",
        "created_at",
        "created_by_id",
    ),
    "audit_event": (
        "id",
        "occurred_at",
        "actor_id",
        "action",
        "object_type",
        "object_id",
        "customer_id",
        "summary",
        "summary_message",
        "summary_params",
        "changes",
        "remote_addr",
        "via",
    ),
}
TABLES = tuple(COLUMNS)

# --- word lists ------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


CHINESE_SURNAMES = _words(
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 彭 "
    "苏 卢 蒋 蔡 贾 丁 魏 薛 叶 余 潘 杜 戴 夏 钟 汪 田 任 姜 范 方 姚 谭 廖 邹 熊 金 陆 郝 孔 "
    "白 崔 康 毛 邱 秦 江 史 顾 侯 邵 孟 龙 段 钱 汤 尹 黎 易 常 武 乔 贺 赖 龚 文"
)
CHINESE_GIVEN_NAMES = _words(
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 霞 平 刚 秀英 桂英 建华 志强 晓东 海燕 "
    "丽娟 文博 子轩 雨涵 浩然 欣怡 梓涵 宇航 思远 嘉怡 俊杰 晨曦 佳琪 鹏飞 春梅 国强 建国 红梅 "
    "玉兰 志明 婷婷 晓燕 立新 慧敏 亮 斌 鑫 颖 琳 倩 峰 辉 宁 雪 丹 萍 波 浩 凯 婷 昊 彬 楠 "
    "海峰 振华 美玲 晓明 春华 秋云 俊峰 一鸣 若曦 书涵"
)
ENGLISH_FIRST_NAMES = _words(
    "David Emily Michael Sarah James Linda Robert Jennifer William Jessica Thomas Karen Daniel "
    "Laura Peter Anna Kevin Grace Eric Helen Oliver Sophie Lucas Mia Jack Chloe Frank Olivia"
)
ENGLISH_LAST_NAMES = _words(
    "Smith Johnson Brown Miller Wilson Taylor Anderson Moore Martin Clark Lewis Walker Wong Chan "
    "Lee Ng Tan Lim Schmidt Müller Dubois Rossi García Nakamura Kim Park Novak Jensen"
)

# (brand, pinyin for web addresses comes from the brand itself)
CHINESE_BRANDS = _words(
    "华瑞 鑫源 宏达 恒信 金桥 东方 泰和 中科 博远 瑞丰 天成 盛世 永安 新华 安信 联创 汇通 远航 "
    "嘉禾 思源 华美 振兴 星光 蓝天 创新 和信 同心 德胜 万达 明辉"
)
# (Chinese line of business, English slug for web addresses, industry)
BUSINESSES = (
    ("贸易", "trading", "批发零售"),
    ("科技", "tech", "信息技术"),
    ("机械", "machinery", "制造业"),
    ("电子", "electronics", "制造业"),
    ("物流", "logistics", "物流运输"),
    ("食品", "foods", "农业食品"),
    ("医药", "pharma", "医疗健康"),
    ("建材", "materials", "建筑地产"),
    ("化工", "chemicals", "能源化工"),
    ("纺织", "textiles", "制造业"),
    ("软件", "software", "信息技术"),
    ("咨询", "consulting", "专业服务"),
    ("家具", "furniture", "制造业"),
    ("汽车配件", "autoparts", "制造业"),
    ("环保", "enviro", "能源化工"),
    ("教育", "education", "教育培训"),
    ("投资", "capital", "金融服务"),
    ("餐饮", "catering", "餐饮酒店"),
)
CHINESE_COMPANY_FORMS = ("有限公司", "股份有限公司", "集团有限公司")
ENGLISH_BRANDS = (
    "Northwind",
    "Pacific Rim",
    "Silverline",
    "Bluewater",
    "Evergreen",
    "Golden Gate",
    "Harbour",
    "Summit",
    "Redwood",
    "Crescent",
    "Oakridge",
    "Brightstar",
    "Meridian",
    "Lotus",
    "Jade Dragon",
    "Orient",
    "Skyline",
    "Greenfield",
    "Ironbridge",
    "Westlake",
)
ENGLISH_BUSINESSES = (
    ("Trading", "批发零售"),
    ("Logistics", "物流运输"),
    ("Electronics", "制造业"),
    ("Machinery", "制造业"),
    ("Foods", "农业食品"),
    ("Pharma", "医疗健康"),
    ("Software", "信息技术"),
    ("Consulting", "专业服务"),
    ("Textiles", "制造业"),
    ("Auto Parts", "制造业"),
    ("Chemicals", "能源化工"),
    ("Hospitality", "餐饮酒店"),
)
ENGLISH_COMPANY_FORMS = ("Co., Ltd.", "Ltd.", "Group", "International Ltd.")
INDUSTRIES = (
    "制造业",
    "批发零售",
    "信息技术",
    "金融服务",
    "医疗健康",
    "教育培训",
    "物流运输",
    "建筑地产",
    "餐饮酒店",
    "能源化工",
    "农业食品",
    "专业服务",
)
REGIONS = ("华东", "华北", "华南", "华中", "西南", "西北", "东北")


@dataclass(frozen=True)
class City:
    name: str
    province: str
    region: str
    postcode: str
    area_code: str  # telephone area code, without the trunk 0
    id_area: str  # first six digits of resident ID numbers issued there
    districts: tuple[str, ...]
    weight: int

    @property
    def latin(self) -> str:
        return "".join(syllables_of(self.name)).title()


CITIES = (
    City("上海", "上海市", "华东", "200000", "21", "310115", ("浦东新区", "徐汇区", "静安区"), 14),
    City("北京", "北京市", "华北", "100000", "10", "110105", ("朝阳区", "海淀区", "东城区"), 12),
    City("广州", "广东省", "华南", "510000", "20", "440106", ("天河区", "越秀区", "番禺区"), 9),
    City("深圳", "广东省", "华南", "518000", "755", "440305", ("南山区", "福田区", "宝安区"), 9),
    City("杭州", "浙江省", "华东", "310000", "571", "330106", ("西湖区", "滨江区", "上城区"), 7),
    City("南京", "江苏省", "华东", "210000", "25", "320102", ("玄武区", "鼓楼区", "江宁区"), 5),
    City("苏州", "江苏省", "华东", "215000", "512", "320505", ("工业园区", "姑苏区"), 5),
    City("无锡", "江苏省", "华东", "214000", "510", "320214", ("新吴区", "梁溪区"), 3),
    City("宁波", "浙江省", "华东", "315000", "574", "330212", ("鄞州区", "海曙区"), 3),
    City("合肥", "安徽省", "华东", "230000", "551", "340104", ("蜀山区", "包河区"), 2),
    City("济南", "山东省", "华东", "250000", "531", "370102", ("历下区", "市中区"), 2),
    City("青岛", "山东省", "华东", "266000", "532", "370202", ("市南区", "黄岛区"), 3),
    City("福州", "福建省", "华东", "350000", "591", "350102", ("鼓楼区", "仓山区"), 2),
    City("天津", "天津市", "华北", "300000", "22", "120101", ("和平区", "滨海新区"), 4),
    City("东莞", "广东省", "华南", "523000", "769", "441900", ("南城街道", "松山湖"), 3),
    City("武汉", "湖北省", "华中", "430000", "27", "420106", ("武昌区", "江汉区", "洪山区"), 5),
    City("长沙", "湖南省", "华中", "410000", "731", "430104", ("岳麓区", "天心区"), 3),
    City("郑州", "河南省", "华中", "450000", "371", "410105", ("金水区", "二七区"), 3),
    City("成都", "四川省", "西南", "610000", "28", "510104", ("锦江区", "武侯区", "高新区"), 6),
    City("重庆", "重庆市", "西南", "400000", "23", "500103", ("渝中区", "江北区"), 4),
    City("昆明", "云南省", "西南", "650000", "871", "530102", ("五华区", "盘龙区"), 2),
    City("西安", "陕西省", "西北", "710000", "29", "610113", ("雁塔区", "碑林区"), 4),
    City("沈阳", "辽宁省", "东北", "110000", "24", "210102", ("和平区", "沈河区"), 3),
)
ROADS = _words(
    "人民路 中山路 建设路 科技路 创业路 新华路 和平路 文化路 学院路 工业大道 滨江大道 "
    "世纪大道 迎宾路 青年路 东风路 南京路 延安路 黄河路 光明路"
)
ENGLISH_STREETS = (
    "Century Avenue",
    "Nanjing Road",
    "Zhongshan Road",
    "Science Park Road",
    "Riverside Boulevard",
    "Jianguo Road",
    "Tianhe Road",
)
MOBILE_PREFIXES = (
    *range(130, 140),
    150,
    151,
    152,
    153,
    155,
    156,
    157,
    158,
    159,
    166,
    176,
    177,
    178,
    *range(180, 190),
    191,
    198,
    199,
)
FREE_MAIL = ("163.com", "qq.com", "126.com", "sina.com", "foxmail.com", "gmail.com", "outlook.com")
JOB_TITLES = (
    "总经理",
    "副总经理",
    "采购经理",
    "采购专员",
    "销售总监",
    "财务经理",
    "技术总监",
    "行政主管",
    "项目经理",
    "董事长",
    "CEO",
    "Purchasing Manager",
    "Sales Director",
    "Finance Manager",
    "Operations Director",
    "Project Manager",
)
TAGS = (
    "VIP",
    "重点客户",
    "老客户",
    "展会2025",
    "待回访",
    "转介绍",
    "投诉处理中",
    "key account",
    "newsletter",
    "price sensitive",
    "海外业务",
    "政府采购",
)
CUSTOMER_NOTES = (
    "年度采购预算约50万元。",
    "Prefers contact by WeChat in the afternoon.",
    "决策人是采购总监，财务需要单独对接。",
    "Asked for English invoices.",
    "春节前后采购量大。",
    "Long-standing customer since the Guangzhou fair.",
    "对交期要求严格。",
)
INTERACTION_SUBJECTS = {
    "phone": (
        "电话回访，确认报价",
        "客户来电咨询交货期",
        "Follow-up call on the quotation",
        "Called about the overdue invoice",
        "电话沟通合同条款",
        "Checked satisfaction after delivery",
    ),
    "visit": (
        "上门拜访，介绍新产品",
        "Site visit: product demo",
        "拜访客户采购部",
        "Quarterly business review at the customer's office",
        "陪同技术人员现场调试",
    ),
    "email": (
        "发送报价单",
        "Sent the revised quotation",
        "邮件确认订单细节",
        "Replied to a product question",
        "Sent the annual contract for signature",
    ),
    "sms": ("短信提醒付款", "发送活动邀请短信", "SMS reminder about the appointment"),
    "chat": (
        "微信沟通样品事宜",
        "WeChat: price question",
        "微信发送产品目录",
        "Chat about delivery",
    ),
    "web_form": (
        "官网留言：询价",
        "Web enquiry: request for a catalogue",
        "官网表单：申请试用",
        "Contact form: partnership enquiry",
    ),
    "fax": ("传真订单确认", "Faxed the signed purchase order", "传真发票复印件"),
    "other": ("展会交流", "Met at the trade fair"),
}
INTERACTION_NOTES = (
    "",
    "",
    "客户对价格比较敏感，需要主管审批折扣。",
    "Customer asked for delivery before the end of the month.",
    "已约下周再次沟通。",
    "The decision maker is the purchasing director.",
    "对售后服务满意。",
    "Wants a trial order of 200 units first.",
    "需要提供ISO证书复印件。",
    "Sent samples by express; tracking number shared.",
)
CONSENT_EVIDENCE = ("", "", "官网表单", "signed form on file", "电话录音", "email reply")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a resident ID number's first 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


@cache
def syllables_of(text: str) -> tuple[str, ...]:
    """The pinyin of each character of a word-list entry, computed once per entry."""
    return han_syllables(text)


@cache
def _traditional_converter():
    import opencc

    return opencc.OpenCC("s2t")


def to_traditional(text: str) -> str:
    return _traditional_converter().convert(text)


@cache
def _chinese_name_tokens(surname: str, given: str) -> tuple[str, ...]:
    tokens = SearchTokens()
    tokens.add_han(surname + given, syllables_of(surname) + syllables_of(given))
    return tuple(tokens.tokens)


@cache
def _text_tokens(
    written: str, run_together: bool = False, pinyin_pairs: bool = True
) -> tuple[str, ...]:
    """Tokens of a recurring name or tag that needs no pinyin (English names) or has few
    variants (tags), as written (Müller is also stored as mueller)."""
    tokens = SearchTokens()
    tokens.add_written(written, run_together=run_together, pinyin_pairs=pinyin_pairs)
    return tuple(tokens.tokens)


# --- weighted choice -------------------------------------------------------------------------


class _Weighted:
    """Draws from ``items`` with the given relative weights using one ``random()`` call."""

    __slots__ = ("cumulative", "items", "total")

    def __init__(self, items: Sequence, weights: Sequence[float]):
        self.items = tuple(items)
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    def __call__(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


_KIND = _Weighted(
    ("potential", "intent", "prospect", "signed", "partner", "internal"), (30, 18, 15, 31, 5, 1)
)
_STAGES_BY_KIND = {
    "potential": _Weighted(("suspect", "expectation"), (7, 3)),
    "intent": _Weighted(("suspect", "expectation"), (3, 7)),
    "prospect": _Weighted(("expectation", "first_purchase"), (8, 2)),
    "signed": _Weighted(("first_purchase", "repeat_purchase", "advocate"), (35, 50, 15)),
    "partner": _Weighted(("repeat_purchase", "advocate"), (6, 4)),
    "internal": _Weighted(("suspect",), (1,)),
}
_LEVEL = _Weighted(
    ("transactional", "preferred_supplier", "partner", "strategic_alliance"), (60, 20, 12, 8)
)
_SOURCE = _Weighted(
    ("web", "visit", "phone", "fax", "email", "sms", "chat", "referral", "event", "other", ""),
    (18, 10, 15, 2, 10, 3, 12, 12, 10, 3, 5),
)
_CITY = _Weighted(CITIES, [c.weight for c in CITIES])
_INTERACTION_COUNT = _Weighted(range(8), (8, 15, 22, 20, 15, 10, 6, 4))
_CHANNEL = _Weighted(
    ("phone", "email", "visit", "chat", "sms", "web_form", "fax", "other"),
    (30, 20, 15, 15, 8, 7, 3, 2),
)
# Share of interactions on each channel that the customer started.
_INBOUND_SHARE = {
    "phone": 0.5,
    "email": 0.4,
    "visit": 0.05,
    "chat": 0.5,
    "sms": 0.2,
    "web_form": 1.0,
    "fax": 0.5,
    "other": 0.3,
}
_TAG_COUNT = _Weighted((0, 1, 2, 3), (45, 35, 15, 5))
_CONSENT_CHANNELS = ("email", "sms", "phone", "wechat", "post")
_CONSENT_METHOD = _Weighted(
    ("web_form", "written", "verbal", "email", "import", "other"), (35, 15, 25, 15, 8, 2)
)

THREE_YEARS = 3 * 365 * 86400.0
# Share of generated customers that are a person already there, entered again by someone else.
DUPLICATE_SHARE = 0.015
_ENGLISH_FIRST_FOLDED = [(n, fold(n)) for n in ENGLISH_FIRST_NAMES]
_ENGLISH_LAST_FOLDED = [(n, fold(n)) for n in ENGLISH_LAST_NAMES]


# --- the generator ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffIds:
    """Who can own, create and touch customers, as user ids."""

    admin: int
    reps: Sequence[int]
    agents: Sequence[int]
    managers: Sequence[int]


@dataclass(frozen=True)
class IdNumberStorage:
    """The three stored forms of a national ID number (as ``customers.services`` writes them)."""

    encrypted: str
    masked: str
    hash: str


@dataclass
class Chunk:
    """Rows for some consecutive customers, one list per table of :data:`COLUMNS`."""

    rows: dict[str, list[tuple]] = field(default_factory=lambda: {t: [] for t in TABLES})

    @property
    def customer_count(self) -> int:
        return len(self.rows["customer"])


@dataclass(frozen=True)
class _Person:
    """What a second salesperson might type in again about a person."""

    name: str
    latin_name: str
    chinese: bool
    phones: tuple[tuple[str, str, str], ...]
    emails: tuple[str, ...]
    city: "City"
    organisation: "_Organisation | None"
    company: str
    birth_date: dt.date | None
    industry: str


@dataclass
class _Organisation:
    id: int
    name: str
    owner_id: int | None
    domain: str
    industry: str
    city: City
    search_tokens: tuple[str, ...]  # of its name as its people's company name


class CustomerGenerator:
    """Produces ``total`` customers in chunks. Ids are handed out from the ``first_ids`` given
    per table, so the caller can reserve id ranges in the database and insert without round
    trips. Creation times grow with the ids, so people always join organisations made earlier."""

    def __init__(
        self,
        *,
        total: int,
        seed: int,
        now: dt.datetime,
        staff: StaffIds,
        tag_ids: dict[str, int],
        first_ids: dict[str, int],
        protect_id_number: Callable[[str], IdNumberStorage],
    ):
        self.rng = random.Random(seed)
        self.total = max(total, 1)
        self.made = 0
        self.now = now
        self.staff = staff
        self.tag_ids = tag_ids
        self.tag_names = sorted(tag_ids)
        self.tag_tokens = {name: _text_tokens(name) for name in tag_ids}
        self.next_id = dict(first_ids)
        self.protect_id_number = protect_id_number
        # Recent organisations, for linking people to them; bounded so memory stays flat.
        self.organisations: deque[_Organisation] = deque(maxlen=5000)
        # Recent people, some of whom a second salesperson will enter again.
        self.recent_people: deque[_Person] = deque(maxlen=20_000)
        # Reps carry most customers, unevenly: some sell far more than others.
        rep_weights = [1.0 + (i % 5) * 0.5 for i in range(len(staff.reps))]
        self._owner = _Weighted(
            [*staff.reps, *staff.agents, *staff.managers, None],
            [
                *(w * 88 / sum(rep_weights) for w in rep_weights),
                *([2 / len(staff.agents)] * len(staff.agents) if staff.agents else []),
                *([2 / len(staff.managers)] * len(staff.managers) if staff.managers else []),
                8,
            ],
        )

    def _take_id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    def chunk(self, count: int) -> Chunk:
        chunk = Chunk()
        for _ in range(count):
            if self.recent_people and self.rng.random() < DUPLICATE_SHARE:
                self._retyped_person(chunk.rows)
            else:
                self._customer(chunk.rows)
        return chunk

    def _creation_time(self) -> dt.datetime:
        # Customers arrive in id order, as in a real database, and more of them recently (the
        # company grows): the i-th of n is created at the age its rank gives on that curve.
        rank = max(0.0, 1.0 - (self.made + self.rng.random()) / self.total)
        self.made += 1
        return self.now - dt.timedelta(seconds=THREE_YEARS * rank**1.3)

    # One customer and its dependent rows.
    def _customer(self, rows: dict[str, list[tuple]]) -> None:
        rng = self.rng
        random_ = rng.random
        customer_id = self._take_id("customer")
        created_at = self._creation_time()
        is_org = random_() < 0.3
        chinese = random_() < 0.8
        city = _CITY(rng)
        owner_id = self._owner(rng)
        organisation: _Organisation | None = None
        company = job_title = website = notes = ""
        birth_date = external_id = None
        id_storage = None
        phones: list[tuple[str, str, str]] = []  # (e164, display, label)
        emails: list[str] = []

        if is_org:
            name, name_tokens, as_company, domain, industry = self._organisation_name(chinese, city)
            if random_() < 0.5:
                website = f"https://www.{domain}"
            if random_() < 0.4:
                external_id = f"ERP-{customer_id:08d}"
            phones.append(self._landline(city, "work"))
            if random_() < 0.4:
                phones.append(self._landline(city, "work"))
            if random_() < 0.3:
                phones.append(self._landline(city, "fax"))
            if random_() < 0.85:
                mailbox = ("info", "sales", "service", "contact")[int(random_() * 4)]
                emails.append(f"{mailbox}@{domain}")
            company_tokens: tuple[str, ...] = ()
        else:
            if self.organisations and random_() < 0.5:
                organisation = self.organisations[int(random_() * len(self.organisations))]
                city = organisation.city
                owner_id = organisation.owner_id if random_() < 0.9 else owner_id
                industry = organisation.industry
                company_tokens = organisation.search_tokens
            else:
                industry = INDUSTRIES[int(random_() * len(INDUSTRIES))] if random_() < 0.5 else ""
                if random_() < 0.4:
                    company, _as_name, company_tokens, _domain, _industry = self._organisation_name(
                        random_() < 0.8, _CITY(rng)
                    )
                else:
                    company_tokens = ()
            name, name_tokens, mail_name, latin_name = self._person_name(chinese)
            if organisation is not None or company or random_() < 0.3:
                job_title = JOB_TITLES[int(random_() * len(JOB_TITLES))]
            phones.append(self._mobile())
            if random_() < 0.25:
                phones.append(self._mobile())
            if random_() < 0.2:
                phones.append(self._landline(city, "work"))
            if random_() < 0.75:
                # Mailboxes belong to one person: numbered apart from namesakes, as mail
                # services and company mail servers number them.
                if organisation is not None and random_() < 0.7:
                    emails.append(f"{mail_name}{self.made % 10_000}@{organisation.domain}")
                elif chinese and random_() < 0.35:
                    emails.append(f"{rng.randrange(10**6, 10**10)}@qq.com")
                else:
                    domain = FREE_MAIL[int(random_() * len(FREE_MAIL))]
                    emails.append(f"{mail_name}{self.made}@{domain}")
                if random_() < 0.15:
                    emails.append(f"{mail_name}.{self.made}@{FREE_MAIL[int(random_() * 3)]}")
            if random_() < 0.25:
                birth_date = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 16000))
            if chinese and random_() < 0.05:
                birth_date = birth_date or dt.date(1960, 1, 1) + dt.timedelta(
                    days=rng.randrange(0, 16000)
                )
                id_storage = self.protect_id_number(self._id_number(city, birth_date))
        if random_() < 0.15:
            notes = CUSTOMER_NOTES[int(random_() * len(CUSTOMER_NOTES))]
        phones = list({p[0]: p for p in phones}.values())  # the same number twice is refused
        emails = list(dict.fromkeys(emails))

        kind = _KIND(rng)
        stage = _STAGES_BY_KIND[kind](rng)
        tag_names = sorted(
            {self.tag_names[int(random_() * len(self.tag_names))] for _ in range(_TAG_COUNT(rng))}
        )
        created_by = owner_id or self.staff.admin

        # Interactions, oldest first; the last one is the customer's last contact.
        times = sorted(
            created_at + (self.now - created_at) * random_() for _ in range(_INTERACTION_COUNT(rng))
        )
        interaction_rows = rows["interaction"]
        agents = self.staff.agents
        for occurred_at in times:
            channel = _CHANNEL(rng)
            inbound = random_() < _INBOUND_SHARE[channel]
            if owner_id is None or (inbound and random_() < 0.6 and agents):
                staff_id = agents[int(random_() * len(agents))] if agents else owner_id
            else:
                staff_id = owner_id
            subjects = INTERACTION_SUBJECTS[channel]
            interaction_rows.append(
                (
                    self._take_id("interaction"),
                    customer_id,
                    channel,
                    "inbound" if inbound else "outbound",
                    subjects[int(random_() * len(subjects))],
                    INTERACTION_NOTES[int(random_() * len(INTERACTION_NOTES))],
                    staff_id,
                    occurred_at,
                    None,  # external_id: demo interactions were not imported
                    min(occurred_at + dt.timedelta(minutes=5 + 120 * random_()), self.now),
                    staff_id,
                )
            )
        last_contacted_at = times[-1] if times else None

        # Search tokens in the order customers.search.build_search_text adds them. Generated
        # emails are already lower-case ASCII, which normalising would leave as they are. No
        # surname of the word lists reads differently as a surname (SURNAME_READINGS), so a
        # person's name adds no tokens of its own for that (the tests compare the two).
        search = SearchTokens()
        search.update(name_tokens)
        if organisation is not None:
            search.add_organisation(company_tokens)
        else:
            search.update(company_tokens)
        for e164, display, _label in phones:
            search.add_phone(e164, display)
        for address in emails:
            search.add_text(address)
        for tag in tag_names:
            search.update(self.tag_tokens[tag])
        if external_id:
            search.add_external_id(normalise(external_id))
        search.add_number_heads()
        search_text = search.document()

        rows["customer"].append(
            (
                customer_id,
                "organization" if is_org else "person",
                name,
                organisation.id if organisation else None,
                company,
                job_title,
                kind,
                _LEVEL(rng),
                stage,
                industry,
                city.region,
                _SOURCE(rng),
                owner_id,
                organisation.owner_id if organisation else None,
                "{}",
                birth_date,
                website,
                notes,
                external_id,
                id_storage.encrypted if id_storage else "",
                id_storage.masked if id_storage else "",
                id_storage.hash if id_storage else "",
                search_text,
                1,
                created_at,
                created_at,
                created_by,
                last_contacted_at,
                None,
            )
        )
        if is_org:
            self.organisations.append(
                _Organisation(customer_id, name, owner_id, domain, industry, city, as_company)
            )
        else:
            self.recent_people.append(
                _Person(
                    name=name,
                    latin_name=latin_name,
                    chinese=chinese,
                    phones=tuple(phones),
                    emails=tuple(emails),
                    city=city,
                    organisation=organisation,
                    company=company,
                    birth_date=birth_date,
                    industry=industry,
                )
            )
        for i, (e164, display, label) in enumerate(phones):
            rows["phone"].append(
                (self._take_id("phone"), customer_id, e164, display, label, i == 0)
            )
        for i, address in enumerate(emails):
            label = "work" if is_org or organisation is not None else "personal"
            rows["email"].append((self._take_id("email"), customer_id, address, label, i == 0))
        if random_() < (0.9 if is_org else 0.55):
            rows["address"].append(self._address(customer_id, city, chinese, is_org))
        for tag in tag_names:
            rows["customer_tag"].append(
                (self._take_id("customer_tag"), customer_id, self.tag_ids[tag])
            )
        if random_() < (0.3 if is_org else 0.6):
            channels = rng.sample(_CONSENT_CHANNELS, 1 + int(random_() * 3))
            for channel in sorted(channels):
                rows["consent"].append(
                    (
                        self._take_id("consent"),
                        customer_id,
                        channel,
                        random_() < 0.75,
                        created_at + (self.now - created_at) * random_() * 0.2,
                        _CONSENT_METHOD(rng),
                        CONSENT_EVIDENCE[int(random_() * len(CONSENT_EVIDENCE))],
                        owner_id,
                    )
                )
        rows["audit_event"].append(
            (
                self._take_id("audit_event"),
                created_at,
                created_by,
                "create",
                "customer",
                customer_id,
                customer_id,
                name[:300],
                "",  # a name reads the same in any language: no message to translate
                "{}",
                "{}",
                None,
                "cli",
            )
        )

    # --- the same person entered twice ---------------------------------------------------------

    def _retyped_person(self, rows: dict[str, list[tuple]]) -> None:
        """A person entered again by another salesperson, who did not find them (the duplicate a
        CRM exists to catch): the name maybe in traditional characters or pinyin, some contact
        details left out, another account manager. About one customer in seventy."""
        rng = self.rng
        random_ = rng.random
        original = self.recent_people[int(random_() * len(self.recent_people))]
        customer_id = self._take_id("customer")
        created_at = self._creation_time()
        owner_id = self._owner(rng)
        roll = random_()
        name = original.name
        if original.chinese and roll < 0.35:
            name = to_traditional(original.name)
        elif roll < 0.65:
            name = original.latin_name
        phones = [p for p in original.phones if random_() < 0.8]
        emails = [e for e in original.emails if random_() < 0.5]
        if not phones and not emails:
            phones = list(original.phones[:1])
        organisation = original.organisation if random_() < 0.6 else None
        company = "" if organisation else (original.company or "")
        if not organisation and original.organisation and random_() < 0.7:
            company = original.organisation.name
        birth_date = original.birth_date if random_() < 0.5 else None
        rows["customer"].append(
            (
                customer_id,
                "person",
                name,
                organisation.id if organisation else None,
                company,
                "",
                _KIND(rng),
                "transactional",
                "suspect",
                original.industry,
                original.city.region,
                _SOURCE(rng),
                owner_id,
                organisation.owner_id if organisation else None,
                "{}",
                birth_date,
                "",
                "",
                None,
                "",
                "",
                "",
                build_search_text(
                    name=name,
                    company=company,
                    organisation=organisation.name if organisation else "",
                    phones=[(p[0], p[1]) for p in phones],
                    emails=emails,
                    tags=[],
                    person=True,
                ),
                1,
                created_at,
                created_at,
                owner_id or self.staff.admin,
                None,
                None,
            )
        )
        for i, (e164, display, label) in enumerate(phones):
            rows["phone"].append(
                (self._take_id("phone"), customer_id, e164, display, label, i == 0)
            )
        for i, address in enumerate(emails):
            rows["email"].append((self._take_id("email"), customer_id, address, "personal", i == 0))
        if random_() < 0.4:
            rows["address"].append(
                self._address(customer_id, original.city, original.chinese, is_org=False)
            )
        rows["audit_event"].append(
            (
                self._take_id("audit_event"),
                created_at,
                owner_id or self.staff.admin,
                "create",
                "customer",
                customer_id,
                customer_id,
                name[:300],
                "",  # a name reads the same in any language: no message to translate
                "{}",
                "{}",
                None,
                "cli",
            )
        )

    # --- names -------------------------------------------------------------------------------

    def _person_name(self, chinese: bool) -> tuple[str, tuple[str, ...], str, str]:
        """Name, its search tokens, a mailbox name and the name in Latin letters."""
        random_ = self.rng.random
        if chinese:
            surname = CHINESE_SURNAMES[int(random_() * len(CHINESE_SURNAMES))]
            given = CHINESE_GIVEN_NAMES[int(random_() * len(CHINESE_GIVEN_NAMES))]
            s_full = "".join(syllables_of(surname))
            g_full = "".join(syllables_of(given))
            mail = f"{g_full}.{s_full}" if random_() < 0.5 else s_full + g_full
            latin = f"{s_full.title()} {g_full.title()}"
            return surname + given, _chinese_name_tokens(surname, given), mail, latin
        first, first_folded = _ENGLISH_FIRST_FOLDED[int(random_() * len(ENGLISH_FIRST_NAMES))]
        last, last_folded = _ENGLISH_LAST_FOLDED[int(random_() * len(ENGLISH_LAST_NAMES))]
        mail = f"{first_folded}.{last_folded}".encode("ascii", "ignore").decode()
        tokens = _text_tokens(f"{first} {last}", run_together=True)
        return f"{first} {last}", tokens, mail, f"{last} {first}"

    def _organisation_name(
        self, chinese: bool, place: City
    ) -> tuple[str, tuple[str, ...], tuple[str, ...], str, str]:
        """Name, its search tokens as a customer's name and as a company name (only a name has
        its Latin words run together and the pinyin of its pairs of characters), a web domain
        and the industry. Company names carry the place they are registered, as Chinese law
        has them: the same brand in two cities is two companies (or two branches, each a
        customer)."""
        random_ = self.rng.random
        if chinese:
            city = place.name
            brand = CHINESE_BRANDS[int(random_() * len(CHINESE_BRANDS))]
            business, slug, industry = BUSINESSES[int(random_() * len(BUSINESSES))]
            form = CHINESE_COMPANY_FORMS[int(random_() * len(CHINESE_COMPANY_FORMS))]
            name = city + brand + business + form
            syllables = (
                syllables_of(city)
                + syllables_of(brand)
                + syllables_of(business)
                + syllables_of(form)
            )
            as_name, as_company = SearchTokens(), SearchTokens()
            as_name.add_han(name, syllables)
            as_company.add_han(name, syllables, pinyin_pairs=False)
            tld = (".com.cn", ".cn", ".com")[int(random_() * 3)]
            domain = f"{''.join(syllables_of(brand))}-{slug}{tld}"
            return name, tuple(as_name.tokens), tuple(as_company.tokens), domain, industry
        brand = ENGLISH_BRANDS[int(random_() * len(ENGLISH_BRANDS))]
        business, industry = ENGLISH_BUSINESSES[int(random_() * len(ENGLISH_BUSINESSES))]
        form = ENGLISH_COMPANY_FORMS[int(random_() * len(ENGLISH_COMPANY_FORMS))]
        name = f"{brand} {business} ({place.latin}) {form}"
        domain = f"{brand}-{business}".lower().replace(" ", "") + ".com"
        as_name, as_company = _text_tokens(name, True), _text_tokens(name, pinyin_pairs=False)
        return name, as_name, as_company, domain, industry

    # --- contact details ---------------------------------------------------------------------

    def _mobile(self) -> tuple[str, str, str]:
        random_ = self.rng.random
        prefix = MOBILE_PREFIXES[int(random_() * len(MOBILE_PREFIXES))]
        middle = int(random_() * 10000)
        last = int(random_() * 10000)
        return (
            f"+86{prefix}{middle:04d}{last:04d}",
            f"+86 {prefix} {middle:04d} {last:04d}",
            "mobile",
        )

    def _landline(self, city: City, label: str) -> tuple[str, str, str]:
        random_ = self.rng.random
        # Local numbers starting 5-7 are valid in every area code used here.
        first = 5000 + int(random_() * 3000)
        last = int(random_() * 10000)
        return (
            f"+86{city.area_code}{first}{last:04d}",
            f"+86 {city.area_code} {first} {last:04d}",
            label,
        )

    def _address(self, customer_id: int, city: City, chinese: bool, is_org: bool) -> tuple:
        rng = self.rng
        district = city.districts[int(rng.random() * len(city.districts))]
        number = rng.randrange(1, 1500)
        if chinese:
            street = f"{district}{ROADS[int(rng.random() * len(ROADS))]}{number}号"
            if rng.random() < 0.5:
                building = "ABCD"[int(rng.random() * 4)]
                street += f"{building}座{rng.randrange(2, 30)}0{rng.randrange(1, 9)}室"
        else:
            road = ENGLISH_STREETS[int(rng.random() * len(ENGLISH_STREETS))]
            street = f"Room {rng.randrange(2, 30)}0{rng.randrange(1, 9)}, {number} {road}"
        label = "office" if is_org else ("home", "office", "shipping")[int(rng.random() * 3)]
        return (
            self._take_id("address"),
            customer_id,
            label,
            street,
            city.name,
            city.province,
            f"{city.postcode[:3]}{rng.randrange(1000):03d}",  # a city has many postcodes
            "CN",
        )

    def _id_number(self, city: City, birth_date: dt.date) -> str:
        first17 = f"{city.id_area}{birth_date:%Y%m%d}{self.rng.randrange(0, 1000):03d}"
        return first17 + id_check_character(first17)
