"""Request bodies refused before anything parses them: JSON nested deeper than any real one.

Python's json parser recurses once per level, so 100,000 opening brackets end in a
RecursionError (a 500) wherever a body is read: Flask's `get_json` and webargs' own
`json.loads` alike. One hook before every view scans the raw bytes instead, in C-speed
passes that never recurse, and answers 400 before any parser sees the body.
"""

import re

from flask import request
from werkzeug.exceptions import BadRequest

#: Far deeper than any body the API takes (a claim with its lines is three levels).
MAX_JSON_DEPTH = 32

#: Outside strings JSON has no backslash, so escapes go first and strings hold no quote.
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
#: Objects nest like arrays: every bracket becomes [ or ], and all else goes.
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def nested_deeper_than(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON `body` opens more than `limit` arrays or objects inside each other.

    Strings are dropped (brackets in text do not nest), then each pass removes the innermost
    pairs: a body at most `limit` levels deep is empty after `limit` passes. Brackets that
    never pair up (`[[[[`, which the parser would recurse into as well) count as too deep.
    Every step runs in C over the bytes, so a body of megabytes takes milliseconds.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", _ESCAPE.sub(b"", body)).translate(_BRACKETS, _NOT_BRACKETS)
    if b"[" * (limit + 1) in brackets:
        return True  # the usual attack, found at once
    for _ in range(limit):
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            break
        brackets = shorter
    return bool(brackets)


def refuse_deeply_nested_json() -> None:
    """Before every view: a JSON body nested beyond MAX_JSON_DEPTH is a 400, in the API's
    error shape under /api/ (its error handler reads `data["message"]`)."""
    if not request.is_json:
        return
    if nested_deeper_than(request.get_data(cache=True)):
        error = BadRequest()
        error.data = {
            "message": f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep, or its "
            "brackets do not pair up."
        }
        raise error
