"""Domain events raised by `roles`; `messaging` subscribes to them."""

from blinker import Namespace

_signals = Namespace()

#: Sent with session=, person=, code=, link_token= when a sign-in code (and its one-time
#: link) must reach a person by SMS.
sign_in_code_issued = _signals.signal("sign-in-code-issued")
#: session=, person=: a person was added, changed roles, or was (de)activated.
staff_changed = _signals.signal("staff-changed")
#: session=, person=: a new person was created (after `staff_changed`).
person_added = _signals.signal("person-added")
