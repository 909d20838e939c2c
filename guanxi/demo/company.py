"""The demo company's organisation: departments, teams and one or more users per role.

Usernames are stable and obvious (``admin``, ``manager``, ``rep``, ``agent``, ``analyst``, then
``manager2``, ``rep2`` …) so that people and scripts can guess them; passwords come from
:mod:`guanxi.demo.credentials`. Running this again reuses what exists.

The staff's names and the departments' and teams' are written in the demo's language
(:mod:`guanxi.demo.language`): in Chinese, every name is Chinese; in English, the staff's
alternate between Chinese and English names, as in a Chinese company's English-speaking office.
A department or team made by a run in another language is found under its name in that one,
and kept as it is.

The departments and teams are made, and given their managers and leads, and the service
agents given their profiles (skills), by the demo administrator through the services the admin
site saves them with: each on record as that administrator's, with its versions, as if they had
been added by hand.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Q

from guanxi.accounts.models import Department, Team, User
from guanxi.accounts.roles import Role
from guanxi.accounts.services import (
    department_save,
    team_save,
    user_access_as_stored,
    user_change_record,
)
from guanxi.core.languages import site_language

from .credentials import Credential, new_password, read_credentials, write_credentials
from .generator import StaffIds
from .language import every_wording, worded

# (department, team, sharing); the first rep of each team leads it.
TEAMS = (
    ("East Sales", "Shanghai 1", Team.Sharing.VIEW),
    ("East Sales", "Shanghai 2", Team.Sharing.NONE),
    ("East Sales", "Hangzhou", Team.Sharing.VIEW),
    ("West Sales", "Chengdu", Team.Sharing.EDIT),
    ("West Sales", "Chongqing", Team.Sharing.NONE),
    ("Key Accounts", "Strategic Accounts", Team.Sharing.EDIT),
    ("Customer Service", "Service Desk", Team.Sharing.VIEW),
)
SALES_TEAMS = [t for t in TEAMS if t[0] != "Customer Service"]
# The departments' and teams' names in Chinese (the English ones above name them in the code).
CHINESE_NAMES = {
    "East Sales": "华东销售部",
    "West Sales": "西部销售部",
    "Key Accounts": "大客户部",
    "Customer Service": "客户服务部",
    "Shanghai 1": "上海一组",
    "Shanghai 2": "上海二组",
    "Hangzhou": "杭州组",
    "Chengdu": "成都组",
    "Chongqing": "重庆组",
    "Strategic Accounts": "战略客户组",
    "Service Desk": "客服中心",
}

# Display names alternate between Chinese and English, as in a real Chinese company.
DISPLAY_NAMES = {
    "admin": "系统管理员 (Admin)",
    "manager": "陈静",
    "manager2": "David Zhou",
    "manager3": "刘建国",
    "agent": "李娜",
    "agent2": "Grace Wang",
    "agent3": "孙磊",
    "analyst": "Helen Xu",
}
# The same people's Chinese names, for a demo in Chinese.
CHINESE_DISPLAY_NAMES = {
    "系统管理员 (Admin)": "系统管理员",
    "David Zhou": "周大伟",
    "Grace Wang": "王雅琪",
    "Helen Xu": "徐慧玲",
    "Emily Liu": "刘艳",
    "Kevin Huang": "黄凯",
    "Sophie Lin": "林淑芬",
    "Jack Ma": "马俊",
    "Lucas Zheng": "郑浩",
    "Anna Guo": "郭安琪",
}
REP_NAMES = (
    "张伟",
    "Emily Liu",
    "王芳",
    "Kevin Huang",
    "赵磊",
    "Sophie Lin",
    "周杰",
    "Jack Ma",
    "吴静",
    "Lucas Zheng",
    "徐明",
    "Anna Guo",
)


@dataclass(frozen=True)
class PlannedUser:
    username: str
    role: str
    department: str | None
    team: str | None
    display_name: str


def _numbered(base: str, n: int) -> str:
    return base if n == 1 else f"{base}{n}"


def group_name(name: str, language: str) -> str:
    """The name of the demo's department or team ``name`` (as :data:`TEAMS` has it) in
    ``language``."""
    return worded(name, CHINESE_NAMES[name], language)


def _group_names(name: str) -> set[str]:
    return every_wording(name, CHINESE_NAMES[name])


def staff_plan(customers: int, language: str = "en") -> list[PlannedUser]:
    """Who works at a company with ``customers`` customers: twelve reps for a few thousand
    customers, one more per 50,000 beyond that (a rep's book stays believable); their names in
    ``language``. Departments and teams are named as :data:`TEAMS` names them."""

    def named(display: str) -> str:
        return worded(display, CHINESE_DISPLAY_NAMES.get(display, display), language)

    reps = 12 + customers // 50_000
    plan = [PlannedUser("admin", Role.ADMIN, None, None, named(DISPLAY_NAMES["admin"]))]
    for n, department in enumerate(("East Sales", "West Sales", "Key Accounts"), start=1):
        username = _numbered("manager", n)
        plan.append(
            PlannedUser(username, Role.MANAGER, department, None, named(DISPLAY_NAMES[username]))
        )
    for n in range(1, reps + 1):
        department, team, _sharing = SALES_TEAMS[((n - 1) // 2) % len(SALES_TEAMS)]
        display = (
            named(REP_NAMES[n - 1])
            if n <= len(REP_NAMES)
            else worded(f"Sales {n}", f"销售{n}", language)
        )
        plan.append(PlannedUser(_numbered("rep", n), Role.SALES_REP, department, team, display))
    for n in range(1, 4):
        username = _numbered("agent", n)
        plan.append(
            PlannedUser(
                username,
                Role.SERVICE_AGENT,
                "Customer Service",
                "Service Desk",
                named(DISPLAY_NAMES[username]),
            )
        )
    plan.append(PlannedUser("analyst", Role.ANALYST, None, None, named(DISPLAY_NAMES["analyst"])))
    return plan


def _hash_all(passwords: list[str]) -> list[str]:
    # Password hashing is deliberately slow (~0.2 s each); hashlib releases the GIL while it
    # works, so threads use every core.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(make_password, passwords))


def _acting_administrator(admin: User) -> User:
    """Who makes the demo's departments and teams: its own administrator (``admin``) while that
    account is an active administrator, else the first other one. An administrator may have
    taken the demo's account's rights away or deactivated it on the admin site; the demo then
    stopped on a refusal the moment it had a department, team, manager or lead to put back."""
    if admin.is_active and admin.is_admin_role:
        return admin
    other = (
        User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True)
        .order_by("pk")
        .first()
    )
    if other is None:
        raise CommandError(
            "The demo's departments and teams are made by an administrator, and no active one "
            "is left: give the account 'admin' its administrator role back, or add one "
            "(guanxi createsuperuser)."
        )
    return other


def _departments_lock(*, actor: User, language: str) -> dict[str, Department]:
    """The demo's departments by name (as :data:`TEAMS` has it), locked (and their teams
    before them), made where missing by ``actor``, named in ``language``. One made by a run
    in another language is found by its name in that language.

    Found by name without a lock, one an administrator was deleting (empty, so deletable) was
    given the demo's teams and people all the same, and the demo stopped at the end on the row
    gone or a key to it failing as it committed (an IntegrityError); a manager an administrator
    chose for one meanwhile, read before as none, was replaced by the demo's. Locked, the demo
    waits for the deletion and makes the department again, or the deletion waits for the demo
    and is refused, finding them in it; and the manager is read once the lock is held."""
    names = sorted({name for name, _t, _s in TEAMS})
    named = {wording: name for name in names for wording in _group_names(name)}
    list(
        Team.objects.select_for_update(of=("self",))
        .filter(department__name__in=named)
        .order_by("pk")
        .values_list("pk")
    )
    departments: dict[str, Department] = {}
    for department in Department.objects.select_for_update().filter(name__in=named).order_by("pk"):
        departments.setdefault(named[department.name], department)
    for name in names:
        if name not in departments:
            departments[name] = department_save(
                actor=actor, department=Department(name=group_name(name, language))
            )
    return departments


@transaction.atomic
def ensure_company(
    customers: int, *, language: str | None = None
) -> tuple[StaffIds, list[Credential]]:
    """Make (or find) the departments, teams and users, and the credentials file; return the
    staff's ids and the credentials of the demo users whose passwords are known. What is made
    is named in ``language`` (blank: the site default)."""
    language = site_language(language)
    plan = staff_plan(customers, language)
    planned = {p.username for p in plan}
    # The users, then the teams, then the departments, each in id order, as every page locks
    # them (``User.clean``, ``Team.clean``, a department's deletion).
    existing = {
        u.username: u
        for u in User.objects.select_for_update().filter(username__in=planned).order_by("pk")
    }
    known = {c.username: c for c in read_credentials()}
    # Accounts that exist keep their passwords (this command never resets one); new accounts
    # take the password the file already holds for them, or a new one that is added to it.
    missing = [p for p in plan if p.username not in existing]
    fresh = {p.username: new_password() for p in missing if p.username not in known}
    credentials = [
        known.get(p.username) or Credential(p.username, p.role, fresh[p.username])
        for p in plan
        if p.username in known or p.username in fresh
    ]
    credentials += [c for c in known.values() if c.username not in planned]
    if fresh:
        write_credentials(credentials)

    passwords = {c.username: c.password for c in credentials}
    hashes = dict(
        zip(
            (p.username for p in missing),
            _hash_all([passwords[p.username] for p in missing]),
            strict=True,
        )
    )
    users: dict[str, User] = dict(existing)
    departments: dict[str, Department] = {}
    teams: dict[str, Team] = {}

    def add(person: PlannedUser) -> None:
        users[person.username] = User.objects.create(
            username=person.username,
            password=hashes[person.username],
            role=person.role,
            department=departments.get(person.department) if person.department else None,
            team=teams.get(person.team) if person.team else None,
            display_name=person.display_name,
            email=f"{person.username}@guanxi.example",
            is_staff=person.role == Role.ADMIN,
            is_superuser=person.role == Role.ADMIN,
        )

    # The administrator first (in no department): the departments and teams are theirs to make,
    # and the people are then put in them.
    if "admin" not in users:
        add(next(p for p in plan if p.username == "admin"))
    admin = _acting_administrator(users["admin"])
    departments.update(_departments_lock(actor=admin, language=language))
    for department, name, sharing in TEAMS:
        team = (
            Team.objects.filter(department=departments[department], name__in=_group_names(name))
            .order_by("pk")
            .first()
        )
        if team is None:
            # Nobody is in a team made now: no tickets to release (``team_save``).
            team = Team(
                department=departments[department],
                name=group_name(name, language),
                customer_sharing=sharing,
            )
            team_save(actor=admin, team=team)
        teams[name] = team
    for person in missing:
        if person.username not in users:
            add(person)

    # The manager sees ID and phone numbers in full, as a permission given on their admin page
    # would let them: a permission given here is on record as one given there (nothing is
    # recorded when they had it already).
    manager = users["manager"]
    added = {person.username for person in missing}
    had = None if manager.username in added else user_access_as_stored(user_id=manager.pk)
    manager.user_permissions.add(
        Permission.objects.get(codename="view_sensitive_data", content_type__app_label="accounts")
    )
    if had is not None:
        user_change_record(actor=None, user=manager, before=had)
    # Each account added, the administrators among them, is on record as one added by
    # ``createsuperuser`` is, with what it was given (the manager's permission too).
    for person in missing:
        user_change_record(actor=None, user=users[person.username], before=None)
    for name, team in teams.items():
        if team.lead_id is None:
            first = next(
                (users[p.username] for p in plan if p.team == name),
                None,
            )
            if first is not None:
                team.lead = first
                team_save(actor=admin, team=team)

    for person in plan:  # each department's manager hears of escalated service breaches
        department = departments.get(person.department or "")
        if person.role == Role.MANAGER and department and department.manager_id is None:
            department.manager = users[person.username]
            department_save(actor=admin, department=department)
    _service_skills(users, actor=admin)

    by_role: dict[str, list[int]] = {}
    for person in plan:
        user = users[person.username]
        if user.is_active:
            by_role.setdefault(user.role, []).append(user.pk)
    staff = StaffIds(
        admin=users["admin"].pk,
        reps=by_role.get(Role.SALES_REP, []),
        agents=by_role.get(Role.SERVICE_AGENT, []),
        managers=by_role.get(Role.MANAGER, []),
    )
    return staff, credentials


# Which complaint categories each demo agent handles (routing sends them those tickets).
AGENT_SKILLS = {
    "agent": ("退款", "账单", "退换货", "订单取消"),
    "agent2": ("产品质量", "售后服务", "假冒商品", "产品咨询"),
    "agent3": ("配送延迟", "服务态度", "虚假促销", "欺诈", "产品咨询"),
}


def _service_skills(users: dict[str, User], *, actor: User) -> None:
    """Give each demo agent without a profile one with their skills, made by ``actor`` through
    the service the admin site saves a profile with (on record, at its first version). A
    profile that exists is left as it is: an administrator may have changed its skills."""
    from guanxi.service.models import AgentProfile, TicketCategory
    from guanxi.service.services import agent_profile_save

    categories = {c.name: c for c in TicketCategory.objects.filter(parent__isnull=True)}
    agents = [users[username] for username in AGENT_SKILLS if username in users]
    has_profile = set(
        AgentProfile.objects.filter(user__in=agents).values_list("user_id", flat=True)
    )
    for agent in agents:
        if agent.pk in has_profile:
            continue
        agent_profile_save(
            actor=actor,
            profile=AgentProfile(user=agent),
            skill_ids=[categories[n].pk for n in AGENT_SKILLS[agent.username] if n in categories],
        )
