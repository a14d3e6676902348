"""The Content-Security-Policy as a real Chromium enforces it: every page a person or a staff member meets loads
and works with zero violations (a blocked script, style or image is reported by the browser as it happens)."""
import pytest

from Dermal.tests.web.conftest import first_of, judge_scope

from .conftest import RESULT_PARTS, analyse, choose_photo, log_in_as_staff, result_variants, saved

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]  # real Chromium

# Every violation the page sees, recorded from its first script on (the browser's securitypolicyviolation event).
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", e => window.cspViolations.push(
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));
"""


class Visit:
    """A Chromium tab that collects CSP violations from the events and from the console, page after page, and
    the console's complaints about the Permissions-Policy header (a feature Chromium does not know)."""

    def __init__(self, page):
        self.page, self.console = page, []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", lambda message: self.console.append(message.text)
                if "Content Security Policy" in message.text or "Permissions-Policy" in message.text else None)

    def violations(self):
        return self.page.evaluate("window.cspViolations") + self.console

    def assert_clean(self, where):
        assert self.violations() == [], f"{where}: {self.violations()}"
        self.console.clear()

    def analyse(self, url, photo, **options):
        """Upload `photo` (a path) through the form, as a person does, the page checked clean before sending."""
        choose_photo(self.page, url, photo, **options)  # the preview is a blob: image
        self.assert_clean("the upload page with its photo chosen")
        analyse(self.page)


@pytest.fixture
def visit(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield Visit(context.new_page())
    context.close()


def test_the_upload_page_and_every_result_variant_run_without_a_violation(visit, live_server, fixture_items,
                                                                          tmp_path, monkeypatch):
    page, url = visit.page, live_server.url + "/"
    seen = set()
    for name, (photo, options) in result_variants(fixture_items, tmp_path).items():
        visit.analyse(url, photo, **options)
        assert page.locator("#diagnosis").is_visible(), name
        seen |= {part for part in RESULT_PARTS if page.locator(part).count()}
        visit.assert_clean(name)
        page.evaluate("() => { window.print = () => {}; }")  # headless Chromium has no print dialog
        page.click("#print-report")
        page.emulate_media(media="print")  # the printed report: the same page under the print stylesheet
        page.pdf(format="A4")
        visit.assert_clean(f"{name}, printed")
        page.emulate_media(media="screen")
    judge_scope(monkeypatch, level="unusual", score=0.2)
    visit.analyse(url, first_of(fixture_items, "bkl").path)
    assert page.locator("#unusual").is_visible()
    visit.assert_clean("an unusual photo")
    assert seen == set(RESULT_PARTS), seen


def test_a_refusal_on_the_page_runs_without_a_violation(visit, live_server, tmp_path):
    visit.analyse(live_server.url + "/", saved(tmp_path, "notes.txt", b"not a photo\n" * 50), preview=False)
    assert "supported format" in visit.page.locator("#error").inner_text()
    visit.assert_clean("the refusal")


def test_the_history_and_the_admin_run_without_a_violation(visit, live_server, fixture_items, django_user_model):
    page, base = visit.page, live_server.url
    visit.analyse(base + "/", first_of(fixture_items, "mel").path, gradcam=False)
    page.goto(base + "/admin/login/?next=/history/")
    visit.assert_clean("the admin's login")
    log_in_as_staff(page, django_user_model)
    page.wait_for_selector("#history")
    visit.assert_clean("the history")
    for path in ("/admin/", "/admin/Dermal/analysis/", "/admin/Dermal/analysis/?referral__exact=1",
                 "/admin/Dermal/analysis/?_facets=True", "/admin/auth/user/"):
        page.goto(base + path)
        visit.assert_clean(path)
    page.goto(base + "/admin/Dermal/analysis/")
    page.click("#result_list tbody a")
    page.wait_for_selector("#content-main .readonly")
    visit.assert_clean("an analysis in the admin")


def test_the_check_sees_a_violation_when_there_is_one(visit, live_server):
    """The recorder works: an inline style and a foreign image, added to the page, are both reported."""
    visit.page.goto(live_server.url + "/")
    visit.page.evaluate("""() => document.body.insertAdjacentHTML("beforeend",
        '<p style="color: red">inline</p><img src="https://example.org/tracker.png" alt="">')""")
    visit.page.wait_for_function("window.cspViolations.length >= 2")
    assert {entry.split()[0] for entry in visit.violations()} >= {"style-src-attr", "img-src"}
