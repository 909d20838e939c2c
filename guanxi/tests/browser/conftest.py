"""Browser tests drive Debian's Chromium through Playwright against a live test server.

Playwright's own browser download is never used: the machines have no internet at run time, and
`make test` installs the distribution's Chromium instead. Playwright's sync API runs an event loop
in the test thread, which makes Django refuse ORM calls there unless told the thread is safe; the
tests only touch the database between browser steps, never concurrently with them.
"""

import os
import shutil
import threading

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = os.environ.get("GUANXI_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package.")
    return path


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_FLAGS, headless=True
        )
        yield browser
        browser.close()


class OneRequestAtATimeServer(ThreadedWSGIServer):
    """The live server's threaded server, letting one request at a time into Django.

    With an in-memory SQLite test database every request thread works on the test's one
    connection, and Django keeps a connection's transaction state (whether a block is open, its
    savepoints) on the connection, not per thread. Two requests at once, say the duplicate hints
    the new-customer form asks for while it is posted, would nest one's transaction in the
    other's: whichever left its block last committed both, and the other's savepoints were
    released by the wrong request.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._one_at_a_time = threading.Lock()

    def set_app(self, application):
        def one_at_a_time(environ, start_response):
            with self._one_at_a_time:
                return application(environ, start_response)

        super().set_app(one_at_a_time)


@pytest.fixture(scope="session")
def live_server(request, django_db_setup):
    """pytest-django's live server, started only once the test database exists.

    The server hands its request threads the test's own connection only if the SQLite database
    is in memory when it starts. Started before the test database (a test asks for the page, and
    so for the server, before the data that needs the database), it saw the settings' database
    file, kept no connection to share, and every request thread opened a connection of its own
    to the shared in-memory test database. Such connections lock tables against each other
    without waiting for a busy timeout: on a busy machine the new-customer form, posted while a
    duplicate hints request still held its transaction, failed with "database table is locked".
    """
    from django.db import connections
    from pytest_django.live_server_helper import LiveServer

    address = (
        request.config.getvalue("liveserver")
        or os.environ.get("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "localhost"
    )
    server = LiveServer(address, start=False)
    for connection in connections.all():
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            assert server.thread.connections_override.get(connection.alias) is connection, (
                "The live server does not share the test's in-memory SQLite connection."
            )
    if server.thread.connections_override:
        server.thread.server_class = OneRequestAtATimeServer
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def pytest_collection_modifyitems(items):
    # One worker runs all browser tests: they share a Chromium and a live server.
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))
