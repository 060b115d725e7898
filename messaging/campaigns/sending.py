"""A campaign's messages: who is held out, which variant and channel each person gets, and
writing them to the outbox in bulk.

One pass over the segment, a chunk at a time, serves both the preview (counted, nothing
written) and the send (written). Per person it does what `messaging.compose.notify` does —
the first usable channel in the person's order (consent and blocked channels respected),
that channel's address, the text of their language and role — but for a whole chunk with
three queries, so a send of 100 000 streams instead of loading everyone. Quiet hours, the
weekly nudge cap and fallback are applied by the outbox worker when each message is due.
"""

import hashlib
import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert, select, union_all
from sqlalchemy.orm import Session

from messaging.campaigns.audience import SegmentFilters, segment_chunks
from messaging.campaigns.models import Campaign, CampaignVariant, TrackedLink
from messaging.compose import ROLE_ORDER
from messaging.models import (
    ChannelBlock,
    ChannelConsent,
    MessageCategory,
    MessageChannel,
    Treatment,
)
from messaging.outbox import enqueue_many, message_segments
from messaging.policy import address, channel_order
from messaging.whatsapp import (
    approved_template,
    decide,
    first_name,
    variable_names,
    windows_between,
    written_values,
)
from roles.models import RoleAssignment

KIND = "campaign"
#: http(s) links in a campaign text; trailing punctuation stays text.
LINK = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
PLACEHOLDERS = ("{first_name}", "{full_name}")
TOKEN_BYTES = 9  # 12 characters; 72 random bits


@dataclass(frozen=True)
class Prices:
    sms_segment: Decimal
    #: A WhatsApp message in the person's window (free text).
    whatsapp: Decimal
    email: Decimal
    currency: str
    #: A WhatsApp template message outside the window, by the template's category.
    templates: dict[str, Decimal] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config) -> "Prices":
        return cls(
            Decimal(config["SMS_SEGMENT_PRICE"]),
            Decimal(config["WHATSAPP_MESSAGE_PRICE"]),
            Decimal(config["EMAIL_MESSAGE_PRICE"]),
            config["MESSAGE_PRICE_CURRENCY"],
            dict(config.get("WHATSAPP_TEMPLATE_PRICES") or {}),
        )

    def of(self, channel: str, segments: int, category: str | None = None) -> Decimal:
        if channel == MessageChannel.SMS:
            return self.sms_segment * segments
        if channel == MessageChannel.WHATSAPP:
            return self.templates.get(category, self.whatsapp) if category else self.whatsapp
        if channel == MessageChannel.EMAIL:
            return self.email
        return Decimal(0)


def is_held_out(seed: int, person_id: int, percent: int) -> bool:
    """A uniform draw per person from the campaign's seed: the same answer on every run, in
    any order, so the control group is fixed by the seed and can be checked."""
    digest = hashlib.blake2b(f"{seed}:{person_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest) * 100 < percent * 2**64


@dataclass
class Text:
    """A variant ready to fill: the text split around its links."""

    variant: CampaignVariant
    pieces: list[str]  # text, link, text, link, …, text
    links: list[str]

    @classmethod
    def of(cls, variant: CampaignVariant) -> "Text":
        pieces, links, at = [], [], 0
        for match in LINK.finditer(variant.body):
            pieces.append(variant.body[at : match.start()])
            links.append(match.group())
            at = match.end()
        pieces.append(variant.body[at:])
        return cls(variant, pieces, links)

    def fill(self, full_name: str, link_urls: list[str]) -> str:
        parts = [self.pieces[0]]
        for url, piece in zip(link_urls, self.pieces[1:], strict=True):
            parts += [url, piece]
        text = "".join(parts)
        if "{" in text:
            text = text.replace("{first_name}", first_name(full_name))
            text = text.replace("{full_name}", full_name)
        return text.strip()


def variant_for(texts: dict, language: str, role: str, default_language: str) -> Text | None:
    for key in ((language, role), (language, ""), (default_language, role), (default_language, "")):
        if key in texts:
            return texts[key]
    return None


@dataclass
class Planned:
    person_id: int
    held_out: bool
    text: Text | None = None
    channel: str | None = None
    recipient: str | None = None
    body: str = ""
    subject: str | None = None
    links: list[tuple[str, str]] = field(default_factory=list)  # (token, target)
    #: WhatsApp: the values the campaign's templates ask for, and how it would go now
    #: (WHATSAPP_FREE_TEXT, WHATSAPP_TEMPLATE or WHATSAPP_ELSEWHERE) with the template's
    #: category, or the channel it would go by instead.
    template_values: dict | None = None
    whatsapp: str | None = None
    category: str | None = None
    instead: str | None = None


WHATSAPP_FREE_TEXT, WHATSAPP_TEMPLATE, WHATSAPP_ELSEWHERE = "free_text", "template", "elsewhere"


# A chunk's roles and unusable channels are read for its id range (two parameters, not one
# per person); people in the range but not in the segment are simply never looked up.


#: Each role's place in ROLE_ORDER: a person's message is that of their first role in it.
_ROLE_RANK = {role.value: rank for rank, role in enumerate(ROLE_ORDER)}


def roles_of(session: Session, low: int, high: int) -> dict[int, str]:
    """Each person's primary role (as messaging.compose.primary_role picks it)."""
    primary: dict[int, str] = {}
    rank = _ROLE_RANK
    for person_id, role in session.execute(
        select(RoleAssignment.person_id, RoleAssignment.role).where(
            RoleAssignment.person_id.between(low, high)
        )
    ):
        held = primary.get(person_id)
        if held is None or rank.get(role, 99) < rank.get(held, 99):
            primary[person_id] = role
    return primary


def unusable_of(session: Session, low: int, high: int) -> dict[int, set[str]]:
    unusable = defaultdict(set)
    rows = session.execute(
        union_all(
            select(ChannelConsent.person_id, ChannelConsent.channel).where(
                ChannelConsent.person_id.between(low, high), ChannelConsent.opted_out.is_(True)
            ),
            select(ChannelBlock.person_id, ChannelBlock.channel).where(
                ChannelBlock.person_id.between(low, high)
            ),
        )
    )
    for person_id, channel in rows:
        unusable[person_id].add(channel)
    return unusable


def plan(
    session: Session,
    campaign: Campaign,
    now: datetime,
    *,
    base_url: str,
    chunk_size: int = 2000,
    skip_treated: bool = True,
) -> Iterator[list[Planned]]:
    """The campaign's messages, one list per chunk of the segment; nothing is written."""
    texts = {(v.language, v.role): Text.of(v) for v in campaign.variants}
    link_base = base_url.rstrip("/") + "/l/"
    filters = SegmentFilters.from_json(campaign.filters)
    chunks = segment_chunks(
        session,
        filters,
        now,
        size=chunk_size,
        not_treated_by=campaign.source if skip_treated else None,
    )
    orders = {}
    seed, percent, default_language = (
        campaign.seed,
        campaign.holdout_percent,
        campaign.default_language,
    )
    whatsapp = _WhatsAppTemplates(session, variable_names(session, KIND))
    for rows in chunks:
        low, high = rows[0].id, rows[-1].id
        roles, unusable = roles_of(session, low, high), unusable_of(session, low, high)
        windows = windows_between(session, low, high)
        planned = []
        for row in rows:
            item = Planned(row.id, percent > 0 and is_held_out(seed, row.id, percent))
            planned.append(item)
            if item.held_out:
                continue
            order = orders.get(row.preferred_channel)
            if order is None:  # the row has what channel_order and address read of a person
                order = orders[row.preferred_channel] = channel_order(row)
            blocked = unusable.get(row.id, ())
            channel = next((c for c in order if c not in blocked and address(row, c)), None)
            text = variant_for(texts, row.language, roles.get(row.id, ""), default_language)
            if channel is None or text is None:
                continue
            item.links = [(secrets.token_urlsafe(TOKEN_BYTES), url) for url in text.links]
            item.text, item.channel = text, channel
            item.recipient = address(row, channel)
            item.body = text.fill(row.full_name, [link_base + token for token, _ in item.links])
            if channel == MessageChannel.EMAIL:
                item.subject = text.variant.subject or campaign.name
            elif channel == MessageChannel.WHATSAPP:
                _plan_whatsapp(item, row, whatsapp, windows.get(row.id), now)
                if item.whatsapp == WHATSAPP_ELSEWHERE:
                    later = order[order.index(channel) + 1 :]
                    item.instead = next(
                        (c for c in later if c not in blocked and address(row, c)), None
                    )
        yield planned


@dataclass
class _WhatsAppTemplates:
    """The campaign's approved templates by language, and every name their variables use."""

    session: Session
    names: set[str]
    by_language: dict = field(default_factory=dict)

    def approved(self, language: str):
        if language not in self.by_language:
            self.by_language[language] = approved_template(self.session, KIND, language)
        return self.by_language[language]


def _plan_whatsapp(item: Planned, row, templates: _WhatsAppTemplates, closes, now) -> None:
    """What the outbox worker would decide for this WhatsApp message now (see
    messaging.whatsapp.decide): within the window (free text or buttons, priced alike), an
    approved template outside it, or the next channel."""
    item.template_values = written_values(templates.names, row.full_name, item.body)
    is_open = closes is not None and closes > now
    template = None if is_open else templates.approved(row.language)
    chosen = decide(
        KIND, row.language, item.template_values, now=now, closes=closes, template=template
    )
    if chosen.free_text:
        item.whatsapp = WHATSAPP_FREE_TEXT
    elif chosen.template is not None:
        item.whatsapp, item.category = WHATSAPP_TEMPLATE, chosen.template.category
    else:
        item.whatsapp = WHATSAPP_ELSEWHERE


@dataclass
class SendReport:
    treated: int = 0
    held_out: int = 0
    messages: int = 0
    #: Treated people no channel reaches (everyone has in-app, unless it failed for them).
    unreachable: int = 0


def write_campaign(
    session: Session, campaign: Campaign, now: datetime, *, base_url: str, chunk_size: int = 2000
) -> SendReport:
    """Assign every person of the segment not yet assigned, and write the treated ones'
    messages: Treatment rows, outbox rows and tracked links, a chunk at a time."""
    report = SendReport()
    for planned in plan(session, campaign, now, base_url=base_url, chunk_size=chunk_size):
        connection = session.connection()
        connection.execute(
            insert(Treatment.__table__),
            [
                {
                    "source": campaign.source,
                    "person_id": p.person_id,
                    "held_out": p.held_out,
                    "at": now,
                }
                for p in planned
            ],
        )
        messages = [p for p in planned if p.channel]
        report.held_out += sum(p.held_out for p in planned)
        report.treated += sum(not p.held_out for p in planned)
        report.unreachable += sum(not p.held_out and not p.channel for p in planned)
        report.messages += len(messages)
        rows = [
            {
                "person_id": p.person_id,
                "channel": p.channel,
                "recipient": p.recipient,
                "kind": KIND,
                "subject": p.subject,
                "body": p.body,
                "category": MessageCategory.NUDGE,
                "source": campaign.source,
                "template_values": p.template_values,
            }
            for p in messages
        ]
        with_links = any(p.links for p in messages)
        ids = enqueue_many(session, rows, now=now, with_ids=with_links)
        if with_links:
            links = [
                {"token": token, "message_id": message_id, "target_url": target}
                for p, message_id in zip(messages, ids, strict=True)
                for token, target in p.links
            ]
            connection.execute(insert(TrackedLink.__table__), links)
    return report


@dataclass
class VariantPreview:
    variant: CampaignVariant
    #: The text as a person would read it (sample name, a tracked link of the real length).
    sample: str
    segments: int
    encoding: str
    recipients: int = 0
    cost: Decimal = Decimal(0)


@dataclass
class CategoryCost:
    messages: int = 0
    cost: Decimal = Decimal(0)


@dataclass
class Preview:
    segment: int = 0
    held_out: int = 0
    treated: int = 0
    unreachable: int = 0
    #: By the channel each message would go by now (WhatsApp's without a template: the next).
    channels: Counter = field(default_factory=Counter)
    cost: Decimal = Decimal(0)
    variants: list[VariantPreview] = field(default_factory=list)
    #: WhatsApp recipients: free text (in their window), template, or another channel.
    whatsapp: Counter = field(default_factory=Counter)
    #: WhatsApp messages by template category ("" free text in the window), with their cost.
    categories: dict[str, CategoryCost] = field(default_factory=dict)


def preview(
    session: Session, campaign: Campaign, now: datetime, *, base_url: str, prices: Prices
) -> Preview:
    """What sending now would do, exactly: the same pass as the send, with nothing written."""
    from messaging.segments import count_segments

    result = Preview()
    sample_link = base_url.rstrip("/") + "/l/" + "x" * len(secrets.token_urlsafe(TOKEN_BYTES))
    by_variant = {}
    for variant in campaign.variants:
        text = Text.of(variant)
        sample = text.fill("Anna Example", [sample_link] * len(text.links))
        count = count_segments(sample)
        by_variant[variant.id] = VariantPreview(variant, sample, count.segments, count.encoding)
    result.variants = list(by_variant.values())
    for planned in plan(session, campaign, now, base_url=base_url):
        for item in planned:
            result.segment += 1
            if item.held_out:
                result.held_out += 1
                continue
            result.treated += 1
            channel = item.instead if item.whatsapp == WHATSAPP_ELSEWHERE else item.channel
            if item.whatsapp:
                result.whatsapp[item.whatsapp] += 1
            if channel is None:
                result.unreachable += 1
                continue
            cost = prices.of(channel, message_segments(channel, item.body), item.category)
            result.channels[channel] += 1
            result.cost += cost
            if channel == MessageChannel.WHATSAPP:
                group = result.categories.setdefault(item.category or "", CategoryCost())
                group.messages += 1
                group.cost += cost
            entry = by_variant[item.text.variant.id]
            entry.recipients += 1
            entry.cost += cost
    return result
