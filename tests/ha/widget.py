"""The High Availability widget in a real browser, through the VIP.

Headless Chromium on the host reaches the active node only through the lab's loopback
forwarder (https://127.0.0.1:<FORWARD_PORT>/ -> client namespace -> VIP). One page stays open
across a failover: the widget must follow it live, and the administrator stays logged in.
"""

from __future__ import annotations

import os

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

from . import lab

USERNAME = "ha-admin"
PASSWORD = "Lab-Widget-Pass-42"
CREATE_ADMIN = f"""
from django.contrib.auth import get_user_model
User = get_user_model()
if not User.objects.filter(username="{USERNAME}").exists():
    User.objects.create_superuser("{USERNAME}", password="{PASSWORD}")
print("RESULT", "true")
"""


class Widget:
    """One logged-in browser page on the HA widget, kept open through the scenarios."""

    def __init__(self):
        from playwright.sync_api import sync_playwright

        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        self.base = f"https://127.0.0.1:{lab.ENV['FORWARD_PORT']}"
        self._playwright = sync_playwright().start()
        self.browser = self._playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        self.context = self.browser.new_context(ignore_https_errors=True)
        self.context.set_default_timeout(30000)
        self.page = self.context.new_page()

    def open(self, node: str) -> None:
        """Create the administrator (on `node`, through the VIP), log in, open the widget."""
        lab.node_python(node, CREATE_ADMIN)
        self.page.goto(f"{self.base}/login/")
        self.page.fill("#id_username", USERNAME)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.click("[data-testid=widget-high-availability]")
        self.field("ha-status").wait_for()
        self.page.evaluate("window.sameDocument = true")

    def field(self, testid: str):
        return self.page.locator(f"[data-testid={testid}]")

    def wait_for(self, testid: str, text: str, timeout: float = 60) -> str:
        """Poll (the page refreshes itself) until the field shows `text`; its whole text."""
        locator = self.page.locator(f"[data-testid={testid}]", has_text=text)
        locator.wait_for(timeout=timeout * 1000)
        return locator.inner_text()

    def api_post(self, path: str, data: dict) -> tuple[int, dict]:
        """POST to the API with the page's session (and its CSRF token), as a script in the
        administrator's browser would; (status, JSON body)."""
        csrf = next(c["value"] for c in self.context.cookies() if c["name"] == "csrftoken")
        response = self.page.request.post(
            f"{self.base}{path}",
            data=data,
            headers={"X-CSRFToken": csrf, "Referer": f"{self.base}/"},
        )
        return response.status, response.json()

    def api_get(self, path: str) -> dict:
        """GET from the API with the page's session; the JSON body ({} when it failed: the
        VIP may be moving)."""
        try:
            response = self.page.request.get(f"{self.base}{path}", timeout=10000)
        except Exception:  # noqa: BLE001 - playwright's network errors while the VIP moves
            return {}
        return response.json() if response.ok else {}

    def start_operation(self, testid: str) -> None:
        """Click an operation of the widget and confirm it."""
        self.page.click(f"[data-testid={testid}]")
        self.page.click("[data-testid=ha-operation-submit]")
        self.field("ha-jobs").wait_for()

    def same_page(self) -> bool:
        """No reload and no new login happened since open()."""
        return bool(self.page.evaluate("window.sameDocument === true"))

    def close(self) -> None:
        if self._playwright is None:
            return
        self.context.close()
        self.browser.close()
        self._playwright.stop()
        self._playwright = None
