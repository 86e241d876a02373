"""An XSS corpus delivered by SMTP runs no script in Chromium and makes no
request to another host while remote content is blocked: every request of the
browser context is intercepted, dialogs and script errors are recorded."""

from __future__ import annotations

import re

from tests.browser.conftest import ALICE, Browsing
from tests.browser.xss_corpus import HTML, messages
from tests.support.mail import smtp_deliver
from tests.support.server import ServerProcess


def test_the_corpus_runs_nothing_and_loads_nothing(browsing: Browsing,
                                                   server: ServerProcess) -> None:
    corpus = messages(ALICE)
    smtp_deliver(server.port("smtp"), ALICE, [raw for _, raw in corpus])
    page, watch = browsing.page, browsing.watch
    browsing.login()
    page.goto(browsing.base + "/webmail/mail?folder=INBOX&q=xss")
    links = page.locator(".messages tbody .col-subject a")
    assert links.count() == len(corpus)
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    seen_markers = set()
    for href in hrefs:
        page.goto(browsing.base + href)
        page.wait_for_load_state("load")
        frames = page.locator("iframe.html-body")
        for i in range(frames.count()):
            frames.nth(i).content_frame.locator("body").wait_for(state="attached")
        text = " ".join(frame.locator("body").inner_text() for frame in page.frames
                        if frame.url.startswith(browsing.base))
        seen_markers.update(re.findall(r"marker-[a-z-]+", text))
        for frame in page.frames:
            assert frame.evaluate("() => window.__pwned === undefined")
    assert seen_markers == {m for m, _ in corpus}, "every message was shown"
    # the subject with markup is shown as text
    page.goto(browsing.base + "/webmail/mail?folder=INBOX&q=headers")
    assert "<script>alert('subject')</script>" in page.locator(".messages tbody").inner_text()
    browsing.shot("xss-list")
    assert watch.dialogs == [], watch.dialogs
    assert watch.foreign == [], watch.foreign
    assert watch.errors == [], watch.errors
    assert len(HTML) >= 15

    # The hooks can fail: asked for, remote content is requested (and aborted
    # here), and a script that does run is seen.
    remote = next(h for h in hrefs if h is not None and
                  h.endswith("uid=" + str(1 + [m for m, _ in corpus].index("marker-remote-images"))))
    with page.expect_request(lambda r: "evil.example/track.gif" in r.url) as asked:
        page.goto(browsing.base + remote + "&remote=1")
    assert asked.value.url == "https://evil.example/track.gif"
    page.evaluate("() => alert('control')")
    assert watch.dialogs == ["alert: control"]
