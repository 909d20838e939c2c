"""A task for the scheduler's tests; the test backend runs tasks in-process, at once, so a
module-level list sees each run."""

from django_tasks import task

CALLS: list[int] = []


@task()
def count_a_call() -> int:
    CALLS.append(1)
    return len(CALLS)
