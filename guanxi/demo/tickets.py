"""Open service tickets for the demo's customers, and their service-level clocks.

Like :mod:`guanxi.demo.orders` this module never touches the database: :func:`draw_tickets`
takes the customers and staff as arrays and draws the tickets as arrays (numpy), and
:func:`clock_block` works out a block of tickets' deadlines and the warnings a sweep running
every minute would already have recorded, with the service desk's own clock code
(:mod:`guanxi.service.sla`). It imports nothing of Django, so ``guanxi demo-tickets`` can run
the clocks in worker processes.

**What is drawn.** Every ticket is still open — new, open or waiting for the customer — as in
a desk with a backlog: created over the last :data:`HISTORY_DAYS` days, more of them recently,
mostly during the working day in China, fewer at weekends; the newest at exactly the moment of
the load. Customers get tickets very unevenly (a Gamma-distributed propensity per customer,
organisations three times as likely): most have none, some several. Four in ten are complaints.
One customer in ten writes in Traditional characters, as customers from Hong Kong and Taiwan do;
the rest in Simplified.
Each ticket lives through up to four steps, each a row of its status history:

1. opened (``new``);
2. the first reply after a log-normal delay that is shorter for higher priorities (one in ten
   is never picked up), which either opens the ticket or asks the customer something
   (``pending_customer``);
3. for some, the customer writes again (a waiting ticket opens again; the next-response clock
   starts);
4. for some of those, a second reply, which may leave the ticket waiting for the customer.

Steps that would fall after the moment of the load have not happened. Whoever replied holds the
ticket: a service agent, or for some the customer's own sales rep; only tickets nobody has
answered can be unassigned. Tickets taken in by phone or at a visit were opened by an agent, who
stays responsible for them.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property

import numpy as np

from guanxi.service.calendar import BusinessCalendar, parse_calendar
from guanxi.service.sla import TARGETS, Targets, running_clocks, steps_due

HISTORY_DAYS = 30
RECENT_MEAN_DAYS = 10.0  # open tickets are mostly recent: ages drawn with this mean
WEEKEND_SHARE = 0.4  # a weekend day gets this share of a weekday's tickets
WORKING_DAY_SHARE = 0.85  # of tickets created 08:00-20:00 local time
UTC_OFFSET_SECONDS = 8 * 3600  # the demo company works on Beijing time
# Customers' propensity to open tickets: Gamma(shape) per customer. With as many tickets as
# customers, about three in ten customers have any, 3.3 on average.
PROPENSITY_SHAPE = 0.2
ORGANISATION_PROPENSITY = 3.0

TYPES = ("complaint", "inquiry", "suggestion", "praise")
TYPE_WEIGHTS = (40, 35, 15, 10)
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_WEIGHTS = {True: (5, 55, 28, 12), False: (20, 65, 12, 3)}  # complaints, others
CHANNELS = ("web_form", "email", "phone", "visit", "sms", "chat", "other")
CHANNEL_WEIGHTS = (20, 20, 30, 5, 5, 15, 5)
TAKEN_IN_BY_AN_AGENT = ("phone", "visit")
AREAS = ("design", "quality", "sales_promise", "service_process")
AREA_WEIGHTS = (10, 40, 25, 25)
STATUSES = ("new", "open", "pending_customer")
NEW, OPEN, PENDING = range(3)

# Median hours to the first reply by priority (log-normal, spread FIRST_REPLY_SIGMA).
FIRST_REPLY_HOURS = (8.0, 4.0, 1.5, 0.5)
FIRST_REPLY_SIGMA = 1.0
NEVER_PICKED_UP = 0.10
FIRST_REPLY_ASKS = 0.35  # the first reply waits for the customer
CUSTOMER_WRITES_AGAIN = 0.55
CUSTOMER_AGAIN_HOURS = 8.0
SECOND_REPLY = 0.6
SECOND_REPLY_HOURS = 3.0
SECOND_REPLY_ASKS = 0.5
UNASSIGNED_WHEN_NEW = 0.6  # of tickets nobody answered yet, nobody holds
KEY_ACCOUNT_SHARE = 0.3  # of held tickets, the customer's own rep holds

# Per type: (category name or None, weight, subjects). Categories are the ones the service
# app seeds; one missing from the database leaves its tickets without a category.
SUBJECTS: dict[str, tuple[tuple[str | None, int, tuple[str, ...]], ...]] = {
    "complaint": (
        ("维修", 8, ("维修后问题依旧", "维修人员迟迟未上门")),
        ("安装", 6, ("安装师傅爽约", "安装后设备无法使用")),
        ("退款", 14, ("退款一直未到账", "申请退款被拒绝")),
        ("虚假促销", 6, ("促销价格与实际不符", "赠品未兑现")),
        ("退换货", 10, ("退货申请无人处理", "换货后仍有质量问题")),
        ("欺诈", 2, ("疑似被冒名下单",)),
        ("配送延迟", 14, ("订单超过一周未发货", "物流信息长时间未更新")),
        ("产品质量", 16, ("产品使用一周就损坏", "收到的商品有明显划痕")),
        ("设计与规划", 3, ("设计方案与合同不一致",)),
        ("假冒商品", 2, ("怀疑收到假冒商品",)),
        ("订单取消", 4, ("订单被无故取消",)),
        ("服务态度", 8, ("客服态度恶劣", "销售人员承诺未兑现")),
        ("账单", 5, ("账单金额有误", "重复扣款")),
        (None, 2, ("其他投诉",)),
    ),
    "inquiry": (
        ("产品咨询", 55, ("咨询产品规格", "询问库存和到货时间", "询问价格和优惠")),
        ("账单", 15, ("发票开具咨询", "付款方式咨询")),
        ("安装", 10, ("安装预约咨询",)),
        ("售后服务", 15, ("保修政策咨询", "售后网点查询")),
        (None, 5, ("一般咨询",)),
    ),
    "suggestion": (
        ("产品质量", 35, ("建议改进包装", "建议提高配件质量")),
        ("设计与规划", 25, ("建议增加更多颜色选择",)),
        ("服务态度", 25, ("建议延长客服时间",)),
        (None, 15, ("对网站的建议",)),
    ),
    "praise": (
        ("服务态度", 60, ("感谢客服耐心解答", "销售顾问服务周到")),
        ("安装", 20, ("安装师傅非常专业",)),
        (None, 20, ("对整体服务非常满意",)),
    ),
}
SUBJECT_TEXTS: tuple[str, ...] = tuple(
    subject
    for options in SUBJECTS.values()
    for _category, _weight, subjects in options
    for subject in subjects
)

# Customers from Hong Kong and Taiwan write in Traditional characters: one in ten of the demo's
# customers does, all their tickets (:data:`TRADITIONAL_WRITERS`). Their subjects are the same
# subjects in Traditional characters, as a Traditional input method types them (a character for
# each character, not Taiwan's words for things), so that they read back as the Simplified one
# (``to_simplified``): a Traditional ticket has the same search words, finds the same similar
# cases and articles, and its customer is written to in Traditional Chinese (``zh-hant``).
TRADITIONAL_WRITERS = 0.1
TRADITIONAL_SUBJECTS: dict[str, str] = {
    "维修后问题依旧": "維修後問題依舊",
    "维修人员迟迟未上门": "維修人員遲遲未上門",
    "安装师傅爽约": "安裝師傅爽約",
    "安装后设备无法使用": "安裝後設備無法使用",
    "退款一直未到账": "退款一直未到賬",
    "申请退款被拒绝": "申請退款被拒絕",
    "促销价格与实际不符": "促銷價格與實際不符",
    "赠品未兑现": "贈品未兌現",
    "退货申请无人处理": "退貨申請無人處理",
    "换货后仍有质量问题": "換貨後仍有質量問題",
    "疑似被冒名下单": "疑似被冒名下單",
    "订单超过一周未发货": "訂單超過一週未發貨",
    "物流信息长时间未更新": "物流信息長時間未更新",
    "产品使用一周就损坏": "產品使用一週就損壞",
    "收到的商品有明显划痕": "收到的商品有明顯劃痕",
    "设计方案与合同不一致": "設計方案與合同不一致",
    "怀疑收到假冒商品": "懷疑收到假冒商品",
    "订单被无故取消": "訂單被無故取消",
    "客服态度恶劣": "客服態度惡劣",
    "销售人员承诺未兑现": "銷售人員承諾未兌現",
    "账单金额有误": "賬單金額有誤",
    "重复扣款": "重複扣款",
    "其他投诉": "其他投訴",
    "咨询产品规格": "諮詢產品規格",
    "询问库存和到货时间": "詢問庫存和到貨時間",
    "询问价格和优惠": "詢問價格和優惠",
    "发票开具咨询": "發票開具諮詢",
    "付款方式咨询": "付款方式諮詢",
    "安装预约咨询": "安裝預約諮詢",
    "保修政策咨询": "保修政策諮詢",
    "售后网点查询": "售後網點查詢",
    "一般咨询": "一般諮詢",
    "建议改进包装": "建議改進包裝",
    "建议提高配件质量": "建議提高配件質量",
    "建议增加更多颜色选择": "建議增加更多顏色選擇",
    "建议延长客服时间": "建議延長客服時間",
    "对网站的建议": "對網站的建議",
    "感谢客服耐心解答": "感謝客服耐心解答",
    "销售顾问服务周到": "銷售顧問服務周到",
    "安装师傅非常专业": "安裝師傅非常專業",
    "对整体服务非常满意": "對整體服務非常滿意",
}
# Each subject as written: in Simplified characters, then in Traditional (``written_subject``).
WRITTEN_SUBJECTS: tuple[str, ...] = (
    *SUBJECT_TEXTS,
    *(TRADITIONAL_SUBJECTS[subject] for subject in SUBJECT_TEXTS),
)

_US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_TARGET_CODES = {target: code for code, target in enumerate(TARGETS)}
NOTE_COLUMNS = ("ticket", "target", "started", "percent", "due", "moment")


@dataclass(frozen=True)
class DeskCustomers:
    """The customers tickets are drawn for, in id order, as parallel arrays."""

    ids: np.ndarray  # int64
    owner: np.ndarray  # int64 owner's user id; 0 for none or not a sales rep
    is_organisation: np.ndarray  # bool


@dataclass(frozen=True)
class DrawnTickets:
    """The drawn tickets in creation (and id) order, as parallel arrays. Times are whole
    seconds since 1970 (UTC), ``-1`` for a step that did not happen; user and category ids are
    ``0`` for none."""

    customer: np.ndarray
    type: np.ndarray  # index into TYPES
    priority: np.ndarray  # index into PRIORITIES
    channel: np.ndarray  # index into CHANNELS
    area: np.ndarray  # index into AREAS, -1 for none
    subject: np.ndarray  # index into SUBJECT_TEXTS
    traditional: np.ndarray  # bool: written in Traditional characters
    category: np.ndarray
    created: np.ndarray
    first_reply: np.ndarray
    first_reply_asks: np.ndarray  # bool: the first reply left it waiting for the customer
    customer_again: np.ndarray
    second_reply: np.ndarray
    second_reply_asks: np.ndarray  # bool
    status: np.ndarray  # index into STATUSES
    assignee: np.ndarray
    owner: np.ndarray
    created_by: np.ndarray

    def __len__(self) -> int:
        return len(self.created)

    @property
    def waiting_since(self) -> np.ndarray:
        """When the customer started waiting for a next response; -1 when they are not."""
        return np.where(
            (self.customer_again >= 0) & (self.second_reply < 0), self.customer_again, -1
        )

    @cached_property  # read block by block: worked out once, not for every block
    def written_subject(self) -> np.ndarray:
        """Each ticket's subject as its customer wrote it: an index into
        :data:`WRITTEN_SUBJECTS`, in Traditional characters for those who write them."""
        return self.subject + len(SUBJECT_TEXTS) * self.traditional

    @property
    def updated(self) -> np.ndarray:
        return np.maximum.reduce(
            [self.created, self.first_reply, self.customer_again, self.second_reply]
        )

    def history(self, index: int) -> list[tuple[int, str, str, int]]:
        """The status history of one ticket: ``(second, from, to, by)`` steps, oldest first;
        ``by`` is 0 for the customer or nobody."""
        steps = [(int(self.created[index]), "", "new", int(self.created_by[index]))]
        first = int(self.first_reply[index])
        if first < 0:
            return steps
        asks = bool(self.first_reply_asks[index])
        holder = int(self.assignee[index])
        status = "pending_customer" if asks else "open"
        steps.append((first, "new", status, holder))
        again = int(self.customer_again[index])
        if again >= 0 and status == "pending_customer":
            steps.append((again, status, "open", 0))
            status = "open"
        second = int(self.second_reply[index])
        if second >= 0 and self.second_reply_asks[index] and status == "open":
            steps.append((second, "open", "pending_customer", holder))
        return steps


def _choice(rng: np.random.Generator, weights: Sequence[float], size: int) -> np.ndarray:
    cumulative = np.cumsum(weights, dtype=np.float64)
    return np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right")


def _creation_times(rng: np.random.Generator, total: int, as_of: int) -> np.ndarray:
    """``total`` creation moments (seconds) before ``as_of``, oldest first, the last at it."""
    today = (as_of + UTC_OFFSET_SECONDS) // 86400 * 86400  # local midnight, as if it were UTC
    found: list[np.ndarray] = []
    have = 0
    while have < total:
        size = max(int((total - have) * 1.8), 1000)
        age_days = rng.exponential(RECENT_MEAN_DAYS, size).astype(np.int64)
        day = today - age_days * 86400
        weekday = (day // 86400 + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
        in_hours = rng.random(size) < WORKING_DAY_SHARE
        seconds = np.where(
            in_hours, 8 * 3600 + rng.random(size) * 12 * 3600, rng.random(size) * 86400
        ).astype(np.int64)
        moment = day + seconds - UTC_OFFSET_SECONDS
        keep = (age_days < HISTORY_DAYS) & (moment < as_of)
        keep &= (weekday < 5) | (rng.random(size) < WEEKEND_SHARE)
        found.append(moment[keep])
        have += int(keep.sum())
    created = np.sort(np.concatenate(found)[:total])
    created[-1] = as_of
    return created


def _delay(rng: np.random.Generator, median_hours, size: int, sigma: float = 1.0) -> np.ndarray:
    """Log-normal delays in whole seconds, at least a minute."""
    seconds = np.exp(np.log(np.asarray(median_hours) * 3600) + sigma * rng.standard_normal(size))
    return np.maximum(seconds, 60).astype(np.int64)


def draw_tickets(
    customers: DeskCustomers,
    *,
    total: int,
    seed: int,
    as_of: int,
    agents: Sequence[int],
    categories: dict[str, int],
) -> DrawnTickets:
    """``total`` open tickets of ``customers`` as they stand at ``as_of`` (seconds since 1970,
    UTC). ``agents`` are the service agents' user ids; ``categories`` maps category names to
    ids (names missing from it give tickets no category)."""
    rng = np.random.default_rng([seed, 11])
    size = total
    propensity = rng.gamma(PROPENSITY_SHAPE, 1.0, len(customers.ids))
    propensity *= np.where(customers.is_organisation, ORGANISATION_PROPENSITY, 1.0)
    cumulative = np.cumsum(propensity)
    position = np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right")
    position = np.minimum(position, len(customers.ids) - 1)

    created = _creation_times(rng, size, as_of)
    kind = _choice(rng, TYPE_WEIGHTS, size)
    complaint = kind == 0
    priority = np.where(
        complaint,
        _choice(rng, PRIORITY_WEIGHTS[True], size),
        _choice(rng, PRIORITY_WEIGHTS[False], size),
    )
    channel = _choice(rng, CHANNEL_WEIGHTS, size)
    area = np.where(complaint, _choice(rng, AREA_WEIGHTS, size), -1)

    # Category and subject: an option of the ticket's type, then one of its subjects.
    subject = np.zeros(size, dtype=np.int64)
    category = np.zeros(size, dtype=np.int64)
    offset = 0
    for code, name in enumerate(TYPES):
        options = SUBJECTS[name]
        of_type = np.flatnonzero(kind == code)
        picked = _choice(rng, [weight for _c, weight, _s in options], len(of_type))
        firsts = np.cumsum([0, *(len(subjects) for _c, _w, subjects in options)])[:-1] + offset
        counts = np.array([len(subjects) for _c, _w, subjects in options])
        subject[of_type] = firsts[picked] + (rng.random(len(of_type)) * counts[picked]).astype(
            np.int64
        )
        ids = np.array([categories.get(c, 0) if c else 0 for c, _w, _s in options], dtype=np.int64)
        category[of_type] = ids[picked]
        offset += int(counts.sum())

    # The steps of each ticket; a step after the moment of the load has not happened.
    first = created + _delay(rng, np.array(FIRST_REPLY_HOURS)[priority], size, FIRST_REPLY_SIGMA)
    first = np.where((rng.random(size) >= NEVER_PICKED_UP) & (first < as_of), first, -1)
    first_asks = rng.random(size) < FIRST_REPLY_ASKS
    again = first + _delay(rng, CUSTOMER_AGAIN_HOURS, size)
    again = np.where(
        (first >= 0) & (rng.random(size) < CUSTOMER_WRITES_AGAIN) & (again < as_of), again, -1
    )
    second = again + _delay(rng, SECOND_REPLY_HOURS, size)
    second = np.where(
        (again >= 0) & (rng.random(size) < SECOND_REPLY) & (second < as_of), second, -1
    )
    second_asks = rng.random(size) < SECOND_REPLY_ASKS
    status = np.full(size, NEW)
    status[first >= 0] = np.where(first_asks[first >= 0], PENDING, OPEN)
    status[again >= 0] = OPEN
    status[second >= 0] = np.where(second_asks[second >= 0], PENDING, OPEN)

    # Who holds it: an agent, or the customer's own rep; nobody, for some never answered.
    agent_ids = np.asarray(agents, dtype=np.int64)
    if len(agent_ids):
        agent = agent_ids[(rng.random(size) * len(agent_ids)).astype(np.int64)]
    else:
        agent = np.zeros(size, dtype=np.int64)
    rep = customers.owner[position]
    assignee = np.where((rep > 0) & (rng.random(size) < KEY_ACCOUNT_SHARE), rep, agent)
    unheld = (first < 0) & (rng.random(size) < UNASSIGNED_WHEN_NEW)
    assignee = np.where(unheld, 0, assignee)
    taken_in = np.isin(channel, [CHANNELS.index(c) for c in TAKEN_IN_BY_AN_AGENT])
    if len(agent_ids):
        taker = agent_ids[(rng.random(size) * len(agent_ids)).astype(np.int64)]
    else:
        taker = np.zeros(size, dtype=np.int64)
    created_by = np.where(taken_in, taker, 0)
    assignee = np.where((assignee == 0) & (created_by > 0) & (first < 0), created_by, assignee)
    owner = np.where(created_by > 0, created_by, assignee)

    # Who writes in Traditional characters, from a stream of its own: drawn from the main one,
    # it would shift every draw after it, and a seed would give another desk for it.
    writes_traditional = np.random.default_rng([seed, 12]).random(len(customers.ids))
    traditional = (writes_traditional < TRADITIONAL_WRITERS)[position]
    return DrawnTickets(
        customer=customers.ids[position],
        type=kind,
        priority=priority,
        channel=channel,
        area=area,
        subject=subject,
        traditional=traditional,
        category=category,
        created=created,
        first_reply=first,
        first_reply_asks=first_asks,
        customer_again=again,
        second_reply=second,
        second_reply_asks=second_asks,
        status=status,
        assignee=assignee,
        owner=owner,
        created_by=created_by,
    )


# --- the clocks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyClock:
    """What the clocks need of a service-level policy: its calendar (the JSON definition) and
    its targets."""

    calendar: dict
    targets: Targets


@dataclass(frozen=True)
class ClockInput:
    """A run of tickets for :func:`clock_block`: their status histories and policies
    (``policy`` indexes ``policies``; -1 for none)."""

    start: int  # index of the first ticket in the whole load
    histories: list[list[tuple[int, str]]]  # (second, status) per ticket
    first_reply: np.ndarray
    customer_again: np.ndarray
    second_reply: np.ndarray
    policy: np.ndarray
    policies: tuple[PolicyClock, ...]
    as_of: int


@dataclass(frozen=True)
class ClockOutput:
    """Per ticket, in microseconds since 1970 (-1 for none): the deadlines and next check as
    ``recompute_deadlines`` sets them at the moment of the load, and whether the first response
    was in time (1, 0, -1 for not yet / no target). ``notes`` holds one row per warning or
    breach the sweep would have recorded by then (columns :data:`NOTE_COLUMNS`, ``ticket``
    counted from the block's start, ``target`` indexing ``sla.TARGETS``)."""

    first_response_due: np.ndarray
    next_response_due: np.ndarray
    resolution_due: np.ndarray
    sla_check_at: np.ndarray
    first_response_met: np.ndarray
    notes: np.ndarray


_calendars: dict[str, BusinessCalendar] = {}


def _calendar(definition: dict) -> BusinessCalendar:
    # One parsed calendar per definition and process: it caches the weeks it has worked out.
    key = json.dumps(definition, sort_keys=True)
    if key not in _calendars:
        _calendars[key] = parse_calendar(definition)
    return _calendars[key]


def _moment(second: int) -> datetime:
    return _EPOCH + timedelta(seconds=second)


def _us(moment: datetime | None) -> int:
    return -1 if moment is None else (moment - _EPOCH) // _ONE_US


def _only(targets: Targets, target: str) -> Targets:
    """The policy's targets with just one clock kept."""
    return Targets(
        **{target: targets.minutes(target)},
        warn_percent=targets.warn_percent,
        escalation_percents=targets.escalation_percents,
    )


def clock_block(block: ClockInput) -> ClockOutput:
    """Deadlines, next checks and recorded notification steps of a run of tickets, computed by
    :func:`guanxi.service.sla.running_clocks` from each ticket's status history, as the
    service's ``recompute_deadlines`` and a sweep running every minute up to ``as_of`` would."""
    count = len(block.histories)
    columns = {
        name: np.full(count, -1, dtype=np.int64)
        for name in ("first", "next", "resolution", "check", "met")
    }
    notes: list[tuple[int, int, int, int, int, int]] = []
    as_of = _moment(block.as_of)

    def record(index: int, clock, *, before: datetime) -> None:
        for percent, moment in sorted(clock.moments.items()):
            if moment is not None and moment <= before:
                notes.append(
                    (index, _TARGET_CODES[clock.target], _us(clock.started_at), percent,
                     _us(clock.due), _us(moment))
                )  # fmt: skip

    for index in range(count):
        policy = int(block.policy[index])
        if policy < 0:
            continue
        calendar = _calendar(block.policies[policy].calendar)
        targets = block.policies[policy].targets
        statuses = [(_moment(second), status) for second, status in block.histories[index]]
        first = int(block.first_reply[index])
        again = int(block.customer_again[index])
        second = int(block.second_reply[index])
        waiting = _moment(again) if again >= 0 and second < 0 else None
        clocks = running_clocks(
            calendar,
            targets,
            statuses=statuses,
            first_responded_at=_moment(first) if first >= 0 else None,
            waiting_since=waiting,
        )
        due = {clock.target: clock.due for clock in clocks}
        columns["first"][index] = _us(due.get("first_response"))
        columns["next"][index] = _us(due.get("next_response"))
        columns["resolution"][index] = _us(due.get("resolution"))
        for clock in clocks:
            record(index, clock, before=as_of)
        _passed, upcoming = steps_due(clocks, as_of)
        columns["check"][index] = _us(upcoming)
        if first >= 0:
            # The first-response clock as it ran until the first reply stopped it.
            replied = _moment(first)
            stopped = running_clocks(
                calendar,
                _only(targets, "first_response"),
                statuses=statuses[:1],
                first_responded_at=None,
                waiting_since=None,
            )
            for clock in stopped:
                columns["met"][index] = int(replied <= clock.due)
                record(index, clock, before=replied - _ONE_US)
        if again >= 0 and second >= 0:
            # The next-response clock the second reply stopped.
            answered = _moment(second)
            stopped = running_clocks(
                calendar,
                _only(targets, "next_response"),
                statuses=[step for step in statuses if step[0] < answered],
                first_responded_at=_moment(first),
                waiting_since=_moment(again),
            )
            for clock in stopped:
                record(index, clock, before=answered - _ONE_US)
    return ClockOutput(
        first_response_due=columns["first"],
        next_response_due=columns["next"],
        resolution_due=columns["resolution"],
        sla_check_at=columns["check"],
        first_response_met=columns["met"],
        notes=np.array(notes, dtype=np.int64).reshape(-1, len(NOTE_COLUMNS)),
    )


def recorded_at(moment_us: np.ndarray, as_of: int) -> np.ndarray:
    """When a sweep running at every whole minute recorded steps due at ``moment_us``: the
    first minute at or after it, never after the load."""
    minute = 60 * _US
    return np.minimum(-(-moment_us // minute) * minute, as_of * _US)


def blocks(total: int, size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive runs of at most ``size`` tickets."""
    return [(start, min(start + size, total)) for start in range(0, total, size)]
