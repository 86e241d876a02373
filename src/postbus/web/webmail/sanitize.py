"""HTML mail made safe to show: nh3 (ammonia) with an allow-list, plus our rules
for what may load.

- Only the tags and attributes in `TAGS`/`ATTRIBUTES` pass; script, style,
  head and title elements go with their content; comments go.
- Links keep only http, https and mailto targets and open in a new tab with
  ``rel="noopener noreferrer"``; any other href is dropped.
- Images: ``cid:`` sources become this message's own part URL (`cid_url`);
  ``data:`` raster images stay; remote (http/https) sources are dropped unless
  the user asked for remote content, and counted so the page can offer it.
- Inline styles keep only `STYLE_PROPERTIES`, and no declaration that could
  load or run anything (`STYLE_DANGER`: url(), expression(), escapes ...).

The sanitised document is still served under `security.body_csp` in a
sandboxed frame (no script at all), so a sanitiser miss runs nothing and loads
nothing remote while remote content is blocked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import nh3

TAGS = frozenset(nh3.ALLOWED_TAGS | {"font", "tfoot", "style"} - {"style"})
ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"style", "title", "dir", "lang", "align", "valign", "bgcolor", "width", "height"},
    "font": {"color", "face", "size"},
    "table": {"charoff", "char", "summary", "align", "border", "cellpadding", "cellspacing"},
}
STYLE_PROPERTIES = frozenset({
    "color", "background-color", "font", "font-family", "font-size", "font-style",
    "font-weight", "font-variant", "line-height", "letter-spacing", "text-align",
    "text-decoration", "text-indent", "text-transform", "white-space", "word-spacing",
    "vertical-align", "direction", "margin", "margin-top", "margin-right", "margin-bottom",
    "margin-left", "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "border", "border-top", "border-right", "border-bottom", "border-left", "border-color",
    "border-style", "border-width", "border-collapse", "border-spacing", "border-radius",
    "width", "height", "max-width", "min-width", "max-height", "min-height", "display",
    "float", "clear", "list-style-type", "table-layout",
})
SAFE_DATA_IMAGES = ("data:image/png;", "data:image/gif;", "data:image/jpeg;", "data:image/webp;")


#: Declarations whose value holds one of these are dropped whole: ways to load
#: (url, image-set, @import) or run (expression, behavior, -moz-binding) something,
#: and the escapes and comments that could hide them.
STYLE_DANGER = ("url(", "image-set(", "expression(", "javascript:", "behavior", "binding",
                "@import", "\\", "/*", "&", "<")


def _safe_style(value: str) -> str:
    kept = [d for d in value.split(";")
            if d.strip() and not any(t in d.lower() for t in STYLE_DANGER)]
    return ";".join(kept)


@dataclass
class Sanitised:
    html: str
    remote_blocked: int  # remote images dropped because remote content is blocked


def sanitise(html: str, *, cid_url: Callable[[str], str], remote: bool) -> Sanitised:
    blocked = 0

    def allow(tag: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        lowered = value.strip().lower()
        if attribute == "src":
            if tag != "img":
                return None
            if lowered.startswith("cid:"):
                return cid_url(value.strip()[4:])
            if lowered.startswith(SAFE_DATA_IMAGES):
                return value
            if lowered.startswith(("http://", "https://", "//")):
                if remote and not lowered.startswith("//"):
                    return value
                blocked += 1
            return None
        if attribute == "href":
            return value if lowered.startswith(("http://", "https://", "mailto:")) else None
        if attribute in ("cite", "background", "longdesc", "usemap"):
            return None
        if attribute == "style":
            return _safe_style(value)
        return value

    cleaned = nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags={"script", "style", "head", "title", "template", "noscript"},
        attributes=ATTRIBUTES,
        attribute_filter=allow,
        strip_comments=True,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        url_schemes={"http", "https", "mailto", "data", "cid"},
        filter_style_properties=set(STYLE_PROPERTIES),
    )
    return Sanitised(cleaned, blocked)
