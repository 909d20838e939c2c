"""The administration's task results (the task queue's app) read in Chinese for a Chinese
reader: the app's name, the list's name, its columns and the status filter's values, instead of
staying in English."""

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

pytestmark = pytest.mark.django_db


def test_the_task_results_read_in_chinese(client, company):
    company.admin.is_staff = company.admin.is_superuser = True
    company.admin.save()
    client.force_login(company.admin)
    DBTaskResult.objects.create(
        task_path="guanxi.scheduling.tasks.enqueue_due",
        args_kwargs={"args": [], "kwargs": {}},
        backend_name="default",
        run_after=timezone.now(),
    )
    client.cookies["django_language"] = "zh-hans"
    index = client.get(reverse("admin:index")).content.decode()
    changelist = client.get(
        reverse("admin:django_tasks_database_dbtaskresult_changelist")
    ).content.decode()
    for page in (index, changelist):
        assert "Tasks Database Backend" not in page and "Task Results" not in page
        assert "后台任务" in page and "任务结果" in page
    for english, chinese in [
        ("Enqueued at", "入队时间"),
        ("Started at", "开始时间"),
        ("Finished at", "完成时间"),
        ("Queue name", "队列名称"),
        ("Ready", "就绪"),
        ("Successful", "成功"),
    ]:
        assert f">{english}<" not in changelist
        assert chinese in changelist
