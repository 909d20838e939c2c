"""What a new service desk starts with: the common causes of complaints as the category tree, a
Beijing-time office calendar and a round-the-clock one, and three service-level policies — all
editable (and deletable) in the administration.

Plain data and one function that takes the model classes, so the data migration can pass its
historical models (it must not use the app's current ones) and tests can put the defaults back
after a test that empties the database.
"""

# (Chinese, English) top-level categories, then children under some of them.
CATEGORIES = [
    ("售后服务", "After-sales service", [("维修", "Repair"), ("安装", "Installation")]),
    ("退款", "Refund", []),
    ("虚假促销", "Misleading promotion", []),
    ("退换货", "Return or exchange", []),
    ("欺诈", "Fraud", []),
    ("配送延迟", "Late delivery", []),
    ("产品质量", "Product quality", [("设计与规划", "Design and planning")]),
    ("假冒商品", "Counterfeit", []),
    ("订单取消", "Order cancellation", []),
    ("服务态度", "Staff attitude", []),
    ("账单", "Billing", []),
    ("产品咨询", "Product inquiry", []),
]

OFFICE_HOURS = {
    "timezone": "Asia/Shanghai",
    "hours": {
        day: [["09:00", "12:00"], ["13:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")
    },
    "holidays": [],
}
ROUND_THE_CLOCK = {"timezone": "Asia/Shanghai", "hours": "24x7", "holidays": []}


def install(Category, Calendar, Policy) -> None:
    """Install the defaults into an empty desk; a desk with any category or policy is left as
    it is (someone has configured it)."""
    if Category.objects.exists() or Policy.objects.exists():
        return
    for name, name_en, children in CATEGORIES:
        parent = Category.objects.create(name=name, name_en=name_en)
        for child, child_en in children:
            Category.objects.create(name=child, name_en=child_en, parent=parent)
    office = Calendar.objects.create(
        name="工作时间 Office hours (Beijing)", definition=OFFICE_HOURS
    )
    always = Calendar.objects.create(name="全天候 24×7 (Beijing)", definition=ROUND_THE_CLOCK)
    breach = [
        {"at_percent": 100, "notify": ["assignee", "team_lead"]},
        {"at_percent": 150, "notify": ["department_manager"]},
        {"at_percent": 200, "notify": ["general_manager"]},
    ]
    # A complaint must reach the responsible team within an hour, whenever it arrives.
    Policy.objects.create(
        name="Complaints, round the clock",
        position=10,
        ticket_types=["complaint"],
        calendar=always,
        first_response_minutes=60,
        next_response_minutes=240,
        resolution_minutes=3 * 24 * 60,
        escalation=breach,
    )
    Policy.objects.create(
        name="Urgent and high priority",
        position=20,
        priorities=["urgent", "high"],
        calendar=office,
        first_response_minutes=60,
        next_response_minutes=120,
        resolution_minutes=8 * 60,
        escalation=breach,
    )
    Policy.objects.create(
        name="Everything else (office hours)",
        position=100,
        calendar=office,
        first_response_minutes=4 * 60,
        next_response_minutes=8 * 60,
        resolution_minutes=5 * 9 * 60,
        escalation=breach,
    )
