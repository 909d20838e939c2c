"""Helpers shared by the tests of several apps."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def models_at(app_label: str, migration_name: str):
    """The models as they were when the migration ran, not as the application has them now."""
    loader = MigrationExecutor(connection).loader
    return loader.project_state((app_label, migration_name)).apps


class MigrationEditor:
    """What a data migration's operation reads of its schema editor: the connection. (SQLite's
    real editor cannot open inside the test's transaction.)"""

    connection = connection
