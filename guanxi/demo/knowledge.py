"""The demo's knowledge base: cases the desk resolved, written down as articles.

A newcomer opening an open demo ticket should see what the product promises, a knowledge base
built from resolved cases, in the similar-cases panel beside it. So each case below is worked
through the service desk's own services, as an agent would: the ticket is taken down on the
phone for a demo customer (``ticket_create``), answered and resolved (``ticket_reply``) by whoever
routing gave it to, and turned by them into an article by the function behind the ticket page's
"Turn into an article" button (``article_from_ticket``, which masks phone and ID numbers whoever
drafts it; they add the cause the draft leaves blank), then published (``article_update``) unless
the case is one of the drafts left for its writer to finish. Every step writes its audit rows as
it does for a person.

The Chinese cases carry the subjects the demo's open tickets are drawn with
(:data:`guanxi.demo.tickets.SUBJECTS`), so an open ticket of a common complaint or inquiry finds
its article; the English ones are what the desk's English-writing customers ask. The customers'
own phone and ID numbers appear in what they said, as they do on a real desk.

The knowledge base is loaded once: not when it holds articles already. The customers are chosen
with the seed, so the same seed gives the same cases for the same company, among those with no
email address on file where there are such, whom the desk answers on the phone: the replies are
kept on the ticket and no email to the customer is written, so none waits to be sent to a
made-up address (and the load saves the sending of some fifty emails, which took as long as the
rest of it). Anything the services still email about the cases is counted as sent and goes
nowhere: it belongs to the demo's past.
"""

from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.test.utils import override_settings

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.core.crypto import decrypt_text
from guanxi.core.text import has_han
from guanxi.customers.models import Customer, Email, Phone
from guanxi.knowledge.models import Article
from guanxi.knowledge.services import article_from_ticket, article_update, may_write_articles
from guanxi.service.models import Ticket, TicketCategory
from guanxi.service.services import ticket_create, ticket_reply

# Emails of the cases' past: counted as sent, delivered nowhere.
QUIET_EMAIL = "django.core.mail.backends.dummy.EmailBackend"


@dataclass(frozen=True)
class Case:
    """A resolved case. ``description`` and ``replies`` may hold ``{phone}`` and
    ``{id_number}``, filled with the customer's own; the last reply resolves the ticket."""

    category: str  # a category the service app seeds (``service.defaults``)
    type: str
    subject: str
    description: str
    replies: tuple[str, ...]
    cause: str
    published: bool = True
    priority: str = "normal"
    area: str = ""

    @property
    def needs_id_number(self) -> bool:
        return "{id_number}" in self.description


COMPLAINT, INQUIRY = Ticket.Type.COMPLAINT, Ticket.Type.INQUIRY
CASES: tuple[Case, ...] = (
    Case(
        "退款", COMPLAINT, "退款一直未到账",
        "上个月退货的订单，仓库签收已经十天了，退款一直未到账。麻烦尽快处理，电话 {phone}。",
        (
            "您好，已查到您的退货在仓库签收后卡在了质检环节，我们已催促质检今天完成。",
            "您好，质检已通过，退款已原路退回您的支付账户。银行卡一般 1-3 个工作日到账，"
            "信用卡可能要到下一个账单日才显示。如 3 个工作日后仍未看到，请回复本工单，"
            "我们提供银行流水号帮您向银行查询。",
        ),
        "退货入库后要先过质检，质检积压时退款不会自动发起；到账时间还取决于银行。",
        priority="high", area="service_process",
    ),
    Case(
        "配送延迟", COMPLAINT, "订单超过一周未发货",
        "我下单已经八天了，订单状态一直是“待发货”，客服电话也打不通。我的手机 {phone}。",
        (
            "您好，很抱歉让您久等。您订购的颜色在华东仓缺货，系统没有自动转仓。"
            "我们已将订单转到华南仓，今天下午发出，运单号会短信通知您。"
            "为表歉意，已为您申请 50 元优惠券。",
        ),
        "下单时显示有货，但所在区域仓库实际缺货，订单没有自动转到有货的仓库。",
        priority="high", area="service_process",
    ),
    Case(
        "配送延迟", COMPLAINT, "物流信息长时间未更新",
        "快递显示三天前到达转运中心后就再没有更新，不知道包裹是不是丢了。",
        (
            "您好，我们已联系承运商核实：包裹在转运中心分拣时面单破损，被放在了异常件区。"
            "承运商已补打面单，明天派送。如明天仍未收到，我们直接为您补发。",
        ),
        "面单破损或无法扫描的包裹会进入异常件区，物流信息因此停止更新。",
        area="service_process",
    ),
    Case(
        "产品质量", COMPLAINT, "产品使用一周就损坏",
        "买的电水壶用了一周，底座就不通电了，指示灯也不亮。联系电话 {phone}。",
        (
            "您好，请您确认一下底座插头是否插紧、换一个插座试试，并拍一张底座背面铭牌的照片发给我们。",
            "您好，根据照片确认是底座温控器故障，属于质量问题。购买 15 天内可直接换新："
            "我们已安排快递上门取件，新品同时寄出，您无需承担运费。",
        ),
        "这一批次的底座温控器有个别不良，通电后无法闭合。",
        priority="high", area="quality",
    ),
    Case(
        "产品质量", COMPLAINT, "收到的商品有明显划痕",
        "今天收到的显示器边框有两道明显划痕，外包装是完好的，应该是出厂前就有的。",
        (
            "您好，收到您的照片，确认是出厂外观瑕疵。您可以选择换新，或保留商品并获得 10% 的补偿，"
            "两种方式都不需要您先寄回。您回复选择后我们当天处理。",
        ),
        "包装完好而商品有划痕，多是装箱前的外观检验漏检。",
        area="quality",
    ),
    Case(
        "退换货", COMPLAINT, "退货申请无人处理",
        "七天前在网上提交了退货申请，到现在还是“待审核”，没有任何人联系我。",
        (
            "您好，您的申请提交时上传的照片没有成功保存，审核系统因此一直没有派单。"
            "我们已人工审核通过，取件员明天上午上门，请保持电话畅通。",
        ),
        "退货申请的附件上传失败时，申请不会进入审核队列，也不会提示客户。",
        area="service_process",
    ),
    Case(
        "退换货", COMPLAINT, "换货后仍有质量问题",
        "上次因为异响换了一台洗衣机，新的这台脱水时还是一样响。",
        (
            "您好，两台出现同样的问题，很可能不是机器本身，我们先安排师傅上门看一下安装情况。",
            "您好，师傅上门确认是运输螺栓没有拆除、地面不平导致脱水异响，已拆除螺栓并调平，"
            "现在运行正常。如果之后还有异响，我们直接为您办理退货。",
        ),
        "安装时没有拆除运输螺栓、没有调平，换新机也会同样异响。",
        priority="high", area="quality",
    ),
    Case(
        "维修", COMPLAINT, "维修后问题依旧",
        "空调上周修过一次，说是加了氟，可是现在制冷还是很差，开一个小时都不凉。电话 {phone}。",
        (
            "您好，非常抱歉。我们安排了更资深的师傅明天复检，本次上门不收任何费用。",
            "您好，复检发现是外机铜管焊点渗漏，上次只补了氟没有找到漏点。已重新补焊并保压测试，"
            "今天制冷正常。本次维修保修期延长到 6 个月。",
        ),
        "只补氟不查漏，冷媒很快又漏光；制冷差要先做保压检漏。",
        priority="high", area="quality",
    ),
    Case(
        "维修", COMPLAINT, "维修人员迟迟未上门",
        "约好昨天下午上门维修，等了一下午人都没来，也没人打电话说明。",
        (
            "您好，很抱歉浪费了您的时间。师傅的派单昨天被系统误改到了另一个地址。"
            "我们已为您约在今天下午 2-4 点，师傅出发前会先打电话给您。",
        ),
        "派单地址被改错后，师傅按错误的地址排了行程，系统没有提醒客户。",
        area="service_process",
    ),
    Case(
        "安装", COMPLAINT, "安装后设备无法使用",
        "热水器昨天装好了，今天一打开就显示 E1，没有热水。",
        (
            "您好，E1 是点火失败。请确认燃气阀门已完全打开；如果刚装好，管道里可能还有空气，"
            "连续开关热水三到五次即可排空。如仍显示 E1，我们安排安装师傅回访。",
        ),
        "新装的燃气热水器管道内残留空气，或燃气阀没有全开，都会点火失败报 E1。",
    ),
    Case(
        "虚假促销", COMPLAINT, "促销价格与实际不符",
        "活动页写着满 1000 减 200，结算的时候只减了 100。",
        (
            "您好，核实后是活动页的文案错误：这个商品参加的是满 1000 减 100。"
            "页面错误是我们的责任，我们已把 100 元差价退回您的支付账户，页面也已更正。",
        ),
        "活动页面的文案与系统里配置的优惠规则不一致。",
        area="sales_promise",
    ),
    Case(
        "账单", COMPLAINT, "重复扣款",
        "同一个订单我的银行卡被扣了两次钱，订单却只有一个。",
        (
            "您好，这是支付时网络超时后重复提交造成的，第二笔款项系统已自动发起退回，"
            "1-3 个工作日原路到账，无需您操作。",
        ),
        "支付超时后再次点击付款，银行两次都扣款，而系统只记一笔订单；多出的一笔会自动退回。",
        area="service_process",
    ),
    Case(
        "订单取消", COMPLAINT, "订单被无故取消",
        "昨天下的订单今天早上被取消了，我没有申请过取消。",
        (
            "您好，订单是因为收货地址与付款账户的风控校验不一致被系统自动取消的，款项已全额退回。"
            "我们已为您的账户加白名单，您重新下单即可，原价格为您保留三天。",
        ),
        "风控规则把新地址加大额订单判为可疑，自动取消了订单。",
        area="service_process",
    ),
    Case(
        "产品咨询", INQUIRY, "咨询产品规格",
        "想了解这款净水器的出水量和滤芯更换周期，家里五口人够不够用？",
        (
            "您好，这款净水器额定出水量 1.5 升/分钟，五口之家日常饮用和做饭足够。"
            "PP 棉滤芯 6 个月更换一次，RO 膜 2-3 年更换一次，机身指示灯会提醒。",
        ),
        "",
    ),
    Case(
        "产品咨询", INQUIRY, "询问库存和到货时间",
        "这款冰箱的白色什么时候有货？下单后多久能送到？",
        (
            "您好，白色款华东仓下周三到货，现在可以预订，到货后 48 小时内配送上门。"
            "预订不需要先付全款，到货前可以随时取消。",
        ),
        "",
    ),
    Case(
        "产品咨询", INQUIRY, "询问价格和优惠",
        "买两台空调有没有优惠？老客户有没有额外折扣？",
        (
            "您好，同一订单购买两台立减 300 元；老客户登录后还能领取一张 5% 的会员折扣券，"
            "两项可以叠加。企业采购满 10 台可联系您的客户经理申请团购价。",
        ),
        "",
    ),
    Case(
        "账单", INQUIRY, "发票开具咨询",
        "公司采购需要开增值税专用发票，应该怎么操作？",
        (
            "您好，在订单详情页点“申请发票”，选择“增值税专用发票”，填写公司名称、税号、"
            "开户行及账号、注册地址和电话即可。专票在订单签收后 5 个工作日内开具并邮寄。",
        ),
        "",
    ),
    Case(
        "售后服务", INQUIRY, "保修政策咨询",
        "空气净化器买了十个月，想问还在保修期内吗？登记的身份证号是 {id_number}。",
        (
            "您好，已按您登记的信息查到购买记录：整机保修一年，电机保修三年，"
            "您的机器仍在保修期内。滤网属于耗材，不在保修范围。需要报修可直接回复本工单。",
        ),
        "",
    ),
    Case(
        "安装", INQUIRY, "安装预约咨询",
        "空调下周到货，可以约周末上门安装吗？",
        (
            "您好，周末可以安装。商品签收后在订单页点“预约安装”选择日期即可，"
            "也可以直接回复想要的时间段，我们帮您预约。标准安装免费，超出 3 米的铜管按价目表收费。",
        ),
        "",
    ),
    Case(
        "退款", COMPLAINT, "申请退款被拒绝",
        "我申请退款被拒绝了，理由是“商品已拆封”，可是是质量问题才拆的。电话 {phone}。",
        (
            "您好，质量问题不受拆封限制，已为您重新提交退款审核，并备注了质量问题。",
            "您好，退款审核已通过，款项原路退回。",
        ),
        "",
        published=False, area="service_process",
    ),
    Case(
        "服务态度", COMPLAINT, "客服态度恶劣",
        "昨天打电话咨询退货，客服很不耐烦，话没说完就挂了电话。",
        (
            "您好，非常抱歉给您带来不好的体验。我们已调取通话录音核实，并对相关客服进行了辅导。"
            "您的退货问题已由我负责处理，今天会给您回电。",
        ),
        "",
        published=False, area="service_process",
    ),
    Case(
        "退款", COMPLAINT, "Refund not received after returning an item",
        "I returned the blender two weeks ago and the courier confirmed delivery, but the "
        "refund has still not arrived. Please call me on {phone}.",
        (
            "Hello, the return reached our warehouse but was waiting for the quality check. "
            "The check is done and the refund has been sent back to your original payment "
            "method today. Bank cards usually show it within 1-3 working days; credit cards "
            "by the next statement. If it has not arrived after 3 working days, reply here and "
            "we will send you the bank reference to ask your bank.",
        ),
        "A return is refunded only after the warehouse's quality check, which was behind.",
        priority="high", area="service_process",
    ),
    Case(
        "配送延迟", COMPLAINT, "Order still not shipped after a week",
        "I ordered a desk lamp eight days ago and it still says awaiting shipment.",
        (
            "Hello, sorry for the wait. The colour you ordered was out of stock at the nearest "
            "warehouse and the order was not moved to another one. We moved it and it ships "
            "today; you will get the tracking number by text message.",
        ),
        "The local warehouse was out of stock and the order was not moved to one with stock.",
        area="service_process",
    ),
    Case(
        "产品质量", COMPLAINT, "Product stopped working after one week",
        "My electric kettle stopped heating after one week. The light on the base does not "
        "come on.",
        (
            "Hello, we confirmed from your photo that the thermostat in the base failed, which "
            "is a quality fault. Within 15 days of purchase we replace it: a courier collects "
            "the kettle and the new one is sent at the same time, free of charge.",
        ),
        "A few bases of this batch have a faulty thermostat.",
        priority="high", area="quality",
    ),
    Case(
        "账单", INQUIRY, "How do I get a VAT invoice (fapiao)?",
        "Our company needs a special VAT invoice (fapiao) for last week's order.",
        (
            "Hello, open the order, choose Request invoice, pick special VAT invoice and enter "
            "the company name, tax number, bank and account number, registered address and "
            "phone. The invoice is issued and posted within 5 working days of delivery.",
        ),
        "",
    ),
    Case(
        "售后服务", INQUIRY, "What does the warranty cover?",
        "My air purifier is ten months old. Is it still under warranty, and are the filters "
        "covered?",
        (
            "Hello, the purifier has a one-year warranty and three years on the motor, so "
            "yours is covered. Filters are consumables and are not covered by the warranty. "
            "Reply here if you would like a repair.",
        ),
        "",
    ),
    Case(
        "账单", COMPLAINT, "Charged twice for one order",
        "My card was charged twice for the same order. Please refund one of them.",
        (
            "Hello, the payment timed out and was submitted again; the second charge is being "
            "returned automatically within 1-3 working days.",
        ),
        "",
        published=False, area="service_process",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class LoadedKnowledge:
    """What :func:`load_knowledge` wrote."""

    tickets: int
    published: int
    drafts: int


def _writers() -> tuple[list[User], list[User]]:
    """The service agents who take down the Chinese cases and the English ones: those with a
    Chinese name and those with an English one (all of them when one kind is missing)."""
    agents = list(User.objects.filter(role=Role.SERVICE_AGENT, is_active=True).order_by("pk"))
    chinese = [a for a in agents if has_han(a.display_name)] or agents
    english = [a for a in agents if not has_han(a.display_name)] or agents
    return chinese, english


def _customers(
    rng: np.random.Generator, cases: tuple[Case, ...]
) -> list[tuple[int, str, str] | None]:
    """For each case a different customer with a phone, ``(id, phone as shown, ID number)``, one
    with no email address where there is one; one with an ID number for a case that quotes it
    (None for that case when nobody has one), one with a name in Latin letters, where there is
    one, for an English case."""
    phones: dict[int, str] = {}
    for customer_id, display in (
        Phone.objects.filter(customer__deleted_at__isnull=True)
        .order_by("customer_id", "-is_primary", "id")
        .values_list("customer_id", "display")
    ):
        phones.setdefault(customer_id, display)
    emailed = set(Email.objects.values_list("customer_id", flat=True))
    rows = (
        Customer.objects.filter(pk__in=list(phones))
        .order_by("pk")
        .values_list("pk", "name", "id_number_encrypted")
    )
    pools: dict[str, list[tuple[int, str]]] = {"all": [], "id": [], "latin": []}
    for pk, name, id_number in rows:
        pools["all"].append((pk, id_number))
        if id_number:
            pools["id"].append((pk, id_number))
        if name.isascii():
            pools["latin"].append((pk, id_number))
    chosen: list[tuple[int, str, str] | None] = []
    taken: set[int] = set()
    for case in cases:
        if case.needs_id_number:
            pool = pools["id"]
        elif not has_han(case.subject):
            pool = pools["latin"] or pools["all"]
        else:
            pool = pools["all"]
        pool = [item for item in pool if item[0] not in taken] or pool
        pool = [item for item in pool if item[0] not in emailed] or pool
        if not pool:
            chosen.append(None)
            continue
        pk, id_number = pool[int(rng.integers(len(pool)))]
        taken.add(pk)
        chosen.append((pk, phones[pk], decrypt_text(id_number) if id_number else ""))
    return chosen


def load_knowledge(*, seed: int, cases: tuple[Case, ...] = CASES) -> LoadedKnowledge | None:
    """Work the resolved ``cases`` through the service desk and write them up as articles (see
    the module's docstring), in one transaction. None, with nothing written, when the knowledge
    base holds articles already, or there is no service agent or customer with a phone; a case
    quoting an ID number is left out when no customer with a phone has one."""
    if Article.objects.exists():
        return None
    chinese_writers, english_writers = _writers()
    if not chinese_writers:
        return None
    customers = _customers(np.random.default_rng([seed, 23]), cases)
    if not any(customers):
        return None
    categories = dict(TicketCategory.objects.filter(is_active=True).values_list("name", "pk"))
    published = drafts = 0
    turns = {"zh": 0, "en": 0}
    with override_settings(EMAIL_BACKEND=QUIET_EMAIL), transaction.atomic():
        for case, customer in zip(cases, customers, strict=True):
            if customer is None:
                continue
            customer_id, phone, id_number = customer
            language = "zh" if has_han(case.subject) else "en"
            writers = chinese_writers if language == "zh" else english_writers
            taker = writers[turns[language] % len(writers)]
            turns[language] += 1

            def filled(text: str, phone=phone, id_number=id_number) -> str:
                return text.replace("{phone}", phone).replace("{id_number}", id_number)

            ticket = ticket_create(
                actor=taker,
                customer_id=customer_id,
                data={
                    "type": case.type,
                    "subject": case.subject,
                    "description": filled(case.description),
                    "category_id": categories.get(case.category),
                    "priority": case.priority,
                    "channel": Ticket.Channel.PHONE,
                    "area": case.area,
                },
            )
            # Whoever routing gave the ticket to answers it and writes it up, so no colleague
            # is told of (and emailed about) each reply.
            agent = ticket.assignee if may_write_articles(ticket.assignee) else taker
            for position, body in enumerate(case.replies):
                last = position == len(case.replies) - 1
                ticket_reply(
                    actor=agent,
                    ticket_id=ticket.pk,
                    body=filled(body),
                    status=Ticket.Status.RESOLVED if last else None,
                )
            article = article_from_ticket(
                actor=agent, ticket_id=ticket.pk, data={"cause": case.cause}
            )
            if case.published:
                article_update(
                    actor=agent,
                    article_id=article.pk,
                    expected_version=article.version,
                    data={"is_published": True},
                )
                published += 1
            else:
                drafts += 1
    return LoadedKnowledge(tickets=published + drafts, published=published, drafts=drafts)
