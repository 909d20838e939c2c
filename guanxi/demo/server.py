"""Gunicorn, started from Python, for ``guanxi serve``.

Gunicorn is normally launched as its own program with a config file; embedding it keeps the demo
to one command and lets that command print the sign-in details first. Each worker imports the
WSGI application itself (no preloading), so no database connection is shared across a fork.
"""

from gunicorn.app.base import BaseApplication


class GuanxiServer(BaseApplication):
    """A gunicorn application serving ``guanxi.wsgi`` with the given gunicorn settings."""

    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        """Runs in each worker before its first request (see ``guanxi.wsgi`` for what loading
        the application also does)."""
        from guanxi.wsgi import application

        return application
