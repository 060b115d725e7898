"""Domain events raised by `channel`; `messaging` subscribes to them (channel never imports it)."""

from blinker import Namespace

_signals = Namespace()

#: session=, program=, partners=: partner managers have a program to decide on.
program_offered = _signals.signal("program-offered")
#: session=, program=, partner=, person_ids=: people newly enrolled in a program.
people_enrolled = _signals.signal("people-enrolled")
#: session=, program=: an offered program went live.
program_launched = _signals.signal("program-launched")
