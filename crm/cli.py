"""The `crm` command: what users and administrators type.

`crm serve`, `crm web`, `crm worker`, `crm scheduler`, `crm migrate`, `crm createadmin`,
`crm demo`, `crm check`, `crm audit verify`, `crm genkey`, `crm import`,
`crm rollback-import`; any other word is passed to
Django's management commands (so `crm shell`, `crm makemigrations` work too).
"""

from __future__ import annotations

import os
import sys

# Commands whose names clash with Django's own get a crm_ prefix internally.
ALIASES = {"check": "crm_check", "rollback-import": "rollback_import"}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if len(argv) > 1 and argv[1] in ALIASES:
        argv[1] = ALIASES[argv[1]]
    if len(argv) > 1 and argv[1] == "django-check":
        argv[1] = "check"
    from config.env import ConfigurationError

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(argv)
    except ConfigurationError as exc:
        sys.stderr.write(f"配置错误 / configuration error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
