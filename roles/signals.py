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
#: session=, person=: a person's data is exported on request. Each receiver returns a dict
#: of sections (name → list of plain dicts) for the data its package keeps about the person.
person_exported = _signals.signal("person-exported")
#: session=, person=, upload_folder=: a person asked to be erased. Each receiver removes or
#: blanks what its package keeps about them; ledger entries stay (anonymised through the
#: person) so every balance still reconciles.
person_erased = _signals.signal("person-erased")
