"""Domain events raised by `channel`; `messaging` subscribes to them (channel never imports it)."""

from blinker import Namespace

_signals = Namespace()

#: session=, program=, partners=: partner managers have a program to decide on.
program_offered = _signals.signal("program-offered")
#: session=, program=, partner=, decision=: a partner's management approved (maybe with
#: conditions) or declined the program's current version.
program_decided = _signals.signal("program-decided")
#: session=, program=, person_ids=: these people enrolled in a live program are due their
#: welcome (at its launch, on joining it, then in batches by `flask programs welcome`):
#: each is welcomed once, however often this is sent.
welcome_due = _signals.signal("welcome-due")
#: session=, activity=, entries=: an activity was recorded and earned these ledger entries.
points_earned = _signals.signal("points-earned")
#: session=, claim=, entries=, actor_id=: a claim was approved (entries: what it earned; the
#: actor is None when it passed every fraud rule and was approved at once) or rejected.
claim_decided = _signals.signal("claim-decided")
#: session=, earnings=, skus=, occasion=: a sell-out import credited these people, as
#: {person id: (points, program ids)}, for these SKUs; the occasion names the import.
sales_imported = _signals.signal("sales-imported")
#: session=, partner=, change=: a partner's tier changed (computed or set by hand).
tier_changed = _signals.signal("tier-changed")
#: session=, redemption=: a person spent points on a reward (a new redemption, not a replay).
reward_redeemed = _signals.signal("reward-redeemed")
#: session=, created=, today=: `flask seed-demo` loaded the channel's demo data; a package
#: above adds its own (its rows found by natural keys first) and counts them in `created`.
demo_seeded = _signals.signal("demo-seeded")
#: session=, redemption=, code=: a gift card ordered from the provider was delivered.
fulfilment_done = _signals.signal("fulfilment-done")
#: session=, redemption=, reason=: a fulfilment failed for good; its points were refunded.
fulfilment_failed = _signals.signal("fulfilment-failed")
#: session=, redemption=, shipment=: goods a person redeemed were handed to a carrier.
goods_shipped = _signals.signal("goods-shipped")
