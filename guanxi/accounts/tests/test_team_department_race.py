"""An administrator moving an empty team to another department while another puts someone in it:
whichever checks second waits for the first to save, and sees what it saved. Real concurrency
needs PostgreSQL: each runs on a thread of its own."""

from django.core.exceptions import ValidationError
from django.db import transaction

from guanxi.accounts.models import Team, User
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import Hold, second_waits_for_first

pytestmark = CONCURRENT


def test_someone_put_in_a_team_being_moved_is_checked_against_its_new_department(company):
    team = Team.objects.create(name="C", department=company.east)
    hold = Hold()

    def move():
        with transaction.atomic():
            moving = Team.objects.get(pk=team.pk)
            moving.department = company.west
            moving.full_clean()  # no members yet: allowed
            hold.here()
            moving.save()

    def put_in():
        with transaction.atomic():
            member = User.objects.get(pk=company.rep_b.pk)  # in East Sales
            member.team_id = team.pk
            member.full_clean()
            member.save()

    results = second_waits_for_first(move, put_in, hold, names=("move", "put in"))

    assert results["move"][0] == "ok", results["move"]
    outcome, error, *_ = results["put in"]
    assert outcome == "error" and isinstance(error, ValidationError), results["put in"]
    assert "team" in error.message_dict
    assert User.objects.get(pk=company.rep_b.pk).team == company.team_b
