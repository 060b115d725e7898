"""A message's plain text as HTML for the in-app inbox: its addresses become links that read
left to right inside a right-to-left message, and everything else is escaped."""

import re

from markupsafe import Markup, escape

#: An absolute http(s) address, or a path on our own site ("/rewards/") standing on its own;
#: "//host" and "/\host" (another site, without a scheme: browsers read a backslash as a
#: slash) are not paths, and no address holds a backslash.
_ADDRESS = re.compile(
    r"https?://[^\s<>\"'“”«»\\]+|(?<!\S)/(?![/\\])[^\s<>\"'“”«»\\]*", re.IGNORECASE
)
#: Punctuation that ends the sentence rather than the address ("…: https://x/me.").
_TRAILING = ".,;:!?)]}»”’'\"…"


def linked_text(text: str, public_url: str | None = None) -> Markup:
    """`text` escaped, with each http(s) address and each path on our site as a link.

    The link carries dir="ltr", which isolates it (HTML gives an element with `dir` its own
    direction), so "https://…/claims/mine" does not come out reversed in Hebrew or Persian.
    An address outside `public_url` opens with no referrer and no hold on this page.
    """
    ours = (public_url or "").rstrip("/") + "/" if public_url else None
    pieces, last = [], 0
    for match in _ADDRESS.finditer(text or ""):
        address = match.group(0).rstrip(_TRAILING)
        if address in ("", "/") and match.group(0).startswith("/"):
            continue  # a lone slash is punctuation, not an address
        start, end = match.start(), match.start() + len(address)
        pieces.append(escape(text[last:start]))
        external = address[0] != "/" and not (ours and (address + "/").startswith(ours))
        rel = Markup(' rel="noopener noreferrer nofollow"') if external else Markup("")
        pieces.append(Markup('<a href="{0}" dir="ltr"{1}>{0}</a>').format(address, rel))
        last = end
    pieces.append(escape((text or "")[last:]))
    return Markup("").join(pieces)
