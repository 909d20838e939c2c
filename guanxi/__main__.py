"""The ``guanxi`` console command: a thin wrapper over Django's management commands.

``guanxi migrate`` runs ``manage.py migrate``; hyphenated names map to the module names Django
can import, so ``guanxi api-token alice`` runs the ``api_token`` command.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings.local")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    argv[0] = "guanxi"
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
