"""Every page each persona can reach by clicking, at a desktop (1400 px) and a phone (390 px)
width: each answers inside the product's frame (no bare error page, no refusal behind a link
or a tile) and nothing is wider than the screen. Screenshots of the pages without arguments
go to artifacts/screenshots/walk/."""

import re
from collections import deque
from urllib.parse import parse_qsl, urldefrag, urlsplit

from accounts.models import AccountRequest
from core.choices import EventCategory
from core.services import record_event
from licensing import services as licensing
from synchronization.models import Synchronization
from tests.support.browser import SCREENSHOTS, BrowserTestCase
from tests.support.personas import build_personas

WIDTHS = {"desktop": 1400, "phone": 390}
PERSONAS = ("admin", "operator", "alice", "victor")
START = ("/admin/", "/smart-licensing/")
# links that leave the pages: downloads, exports, the API, log-out
SKIPPED = re.compile(
    r"/logout|/api/|/static/|download|export|format=|/bundle|\.(tar|gz|csv|pem|json|txt)(\?|$)"
    r"|/admin/support-center/logs/.+|/oauth/|/Transportgateway|/SmartTransport|/cslu/"
)
MAX_PAGES = 70
# a button that destroys something submits only after a confirmation: the dialog
# (data-confirm) or a confirmation page (its own button)
UNCONFIRMED = """() => [...document.querySelectorAll(
    'form button[type=submit].btn-danger, form button[type=submit].btn-outline-danger')]
  .filter(b => !b.form.dataset.confirm
               && !/^(confirm|ha-operation-submit)/.test(b.dataset.testid || ''))
  .map(b => b.innerText.trim())"""
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > width + 1 && getComputedStyle(e).position !== 'fixed'
      && !e.closest('.table-responsive, .ssm-scroll, pre');
  });
  return {scroll: document.documentElement.scrollWidth, width,
          wide: wide.slice(0, 3).map(e => e.tagName + '.' + [...e.classList].join('.')
                                      + ' ' + (e.innerText || '').slice(0, 40))};
}"""


class PersonaWalkTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        build_personas(self)
        a = self.account_a
        licensing.create_token(a.default_virtual_account, description="walk")
        Synchronization.objects.create(account=a)
        AccountRequest.objects.create(
            name="Pending-Plant", cisco_smart_account="BU Production Test",
            cisco_virtual_account="Plant", notification_email="plant@example.com",
            requested_by=self.alice,
        )  # fmt: skip
        record_event(EventCategory.ACCOUNT, "walk", "A long event message " + "x" * 200, account=a)

    def walk(self, persona: str, viewport: str) -> list[str]:
        """Visit every page reachable by links; the problems found."""
        context = self.browser.new_context(viewport={"width": WIDTHS[viewport], "height": 860})
        self.addCleanup(context.close)
        page = context.new_page()
        page.goto(self.url("/login/"))
        page.fill("#id_username", persona)
        page.fill("#id_password", self.password)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"^(?!.*/login/)"))
        problems, seen, queue = [], set(START), deque(START)
        while queue and len(seen) <= MAX_PAGES:
            path = queue.popleft()
            response = page.goto(self.url(path))
            status = response.status if response else 0
            if status != 200:
                problems.append(f"{path}: HTTP {status}")
            if not page.locator("nav.ssm-navbar").count():
                problems.append(f"{path}: not inside the product's frame")
            unconfirmed = page.evaluate(UNCONFIRMED)
            if unconfirmed:
                problems.append(f"{path}: destroys without asking first: {unconfirmed}")
            measured = page.evaluate(OVERFLOW)
            if measured["scroll"] > measured["width"] + 1:
                problems.append(f"{path}: {measured['scroll']} px wide > {measured['width']}: "
                                f"{measured['wide']}")  # fmt: skip
            query = {k for k, _ in parse_qsl(urlsplit(path).query)}
            if query <= {"account", "va"} and not re.search(r"/\d+/", path):
                name = urlsplit(path).path.strip("/").replace("/", "-") or "home"
                folder = SCREENSHOTS / "walk"
                folder.mkdir(parents=True, exist_ok=True)
                page.screenshot(
                    path=str(folder / f"{persona}-{viewport}-{name}.png"), full_page=True
                )
            for href in page.eval_on_selector_all(
                "a[href]:not([download])", "links => links.map(a => a.getAttribute('href'))"
            ):
                target = urldefrag(href)[0]
                parts = urlsplit(target)
                if parts.scheme or parts.netloc or not target.startswith("/"):
                    continue
                if SKIPPED.search(target) or target in seen:
                    continue
                seen.add(target)
                queue.append(target)
        return problems

    def test_every_page_for_every_persona_at_two_widths(self):
        found = {}
        for persona in PERSONAS:
            for viewport in WIDTHS:
                problems = self.walk(persona, viewport)
                if problems:
                    found[f"{persona} at {WIDTHS[viewport]} px"] = problems
        self.assertEqual(
            found, {}, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in found.items())
        )
