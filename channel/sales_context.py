"""What a sell-out import reads once and keeps while it runs: the partners' programs and
their terms, products, people's roles and enrolments, and each program's running usage
(budget and caps), loaded for many lines at a time, never line by line."""

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from channel import rules as engine
from channel.earning import engine_approval, engine_terms, product_facts
from channel.ledger import add_caps_totals, person_earnings
from channel.models import (
    Enrollment,
    Product,
    Program,
    ProgramDecision,
    ProgramStatus,
    ProgramTarget,
)
from channel.partner_models import PartnerOrganization
from channel.postings import Deferred, EntryRow
from core.bulk import in_values
from roles.models import RoleAssignment


def _programs_for_partners(session: Session, partners) -> dict[int, list[Program]]:
    """`programs_for_partner` of many partners in one look-up, each list newest first."""
    tiers = sorted({p.tier_id for p in partners if p.tier_id is not None})
    targets = ProgramTarget.partner_id.in_(sorted(p.id for p in partners))
    if tiers:
        targets = targets | ProgramTarget.tier_id.in_(tiers)
    rows = session.execute(
        select(Program, ProgramTarget.partner_id, ProgramTarget.tier_id)
        .join(ProgramTarget, ProgramTarget.program_id == Program.id)
        .where(Program.status != ProgramStatus.DRAFT, targets)
        .order_by(Program.starts_at.desc(), Program.id.desc())
    ).all()
    found: dict[int, list[Program]] = {}
    for partner in partners:
        programs = found.setdefault(partner.id, [])
        for program, partner_id, tier_id in rows:
            offered = partner_id == partner.id or (
                tier_id is not None and tier_id == partner.tier_id
            )
            if offered and program not in programs:
                programs.append(program)
    return found


class ImportContext:
    """What stays the same for a whole file: programs per partner, people, products, and the
    programs' running usage (exact while this transaction holds their row locks)."""

    def __init__(self, session: Session):
        self.session = session
        self.programs: dict[int, list] = {}
        self.products: dict[str, tuple] = {}
        self.roles: dict[int, frozenset[str]] = {}
        #: (program id, approved version) -> the engine's terms, shared by its partners
        self.terms: dict[tuple[int, int], engine.Terms] = {}
        #: program id -> (usage, partners and people whose totals it holds)
        self.usages: dict[int, tuple[engine.Usage, set[int], set[int]]] = {}
        #: Programs whose row this transaction has locked (`read_chunk`).
        self.locked: set[int] = set()
        #: (program id, person id) -> enrolled
        self.enrolled: dict[tuple[int, int], bool] = {}
        #: person id -> (points earned by this import's bulk chunks, program ids), and the
        #: SKUs and the first claim of those chunks: what the import tells people afterwards.
        self.earned: dict[int, tuple[int, set[int]]] = {}
        self.skus: set[str] = set()
        self.first_claim_id: int | None = None
        #: The chunks' balance moves and people's months: written once, by `finish`.
        self.deferred = Deferred()

    def load_partners(self, partner_ids) -> None:
        """The live programs each of `partner_ids` approved, with their evaluators: the
        partners, their programs, decisions (with exclusions) and terms each read once for
        all of them, whatever the number of partners."""
        missing = sorted(set(partner_ids) - set(self.programs))
        if not missing:
            return
        partners = self.session.scalars(
            select(PartnerOrganization)
            .where(PartnerOrganization.id.in_(missing))
            .options(joinedload(PartnerOrganization.tier))
        ).all()
        offered = _programs_for_partners(self.session, partners)
        live = {p.id for programs in offered.values() for p in programs}
        decisions = {
            (decision.program_id, decision.partner_id): decision
            for decision in self.session.scalars(
                select(ProgramDecision)
                .where(
                    ProgramDecision.program_id.in_(sorted(live)),
                    ProgramDecision.partner_id.in_(missing),
                )
                .options(selectinload(ProgramDecision.exclusions))
            )
        }
        for partner in partners:
            found = []
            for program in offered[partner.id]:
                if program.status != ProgramStatus.ACTIVE:
                    continue
                decision = decisions.get((program.id, partner.id))
                approval = engine_approval(decision, partner)
                if approval is not None:
                    found.append(
                        (program, engine.Evaluator(self._terms(program, decision), approval))
                    )
            self.programs[partner.id] = found

    def _terms(self, program: Program, decision) -> engine.Terms:
        key = (program.id, decision.approved_version)
        if key not in self.terms:
            self.terms[key] = engine_terms(
                self.session, program, decision.approved_version, active=True
            )
        return self.terms[key]

    def programs_of(self, partner_id: int) -> list[tuple[Program, engine.Evaluator]]:
        self.load_partners([partner_id])
        return self.programs[partner_id]

    def load_products(self, skus) -> None:
        """Each SKU's (group code, points a unit), read once for all of `skus`."""
        missing = sorted(set(skus) - set(self.products))
        if not missing:
            return
        self.products.update(dict.fromkeys(missing, (None, None)))
        for product in self.session.scalars(
            select(Product).where(Product.sku.in_(missing)).options(joinedload(Product.group))
        ):
            self.products[product.sku] = (product.group.code, product.unit_points)

    def product(self, sku: str):
        if sku not in self.products:
            self.products[sku] = product_facts(self.session, sku)
        return self.products[sku]

    def person_roles(self, person_ids) -> None:
        missing = sorted(set(person_ids) - set(self.roles))
        if not missing:
            return
        found: dict[int, set[str]] = {person_id: set() for person_id in missing}
        for person_id, role in self.session.execute(
            select(RoleAssignment.person_id, RoleAssignment.role).where(
                in_values(self.session, RoleAssignment.person_id, missing)
            )
        ):
            found[person_id].add(role)
        self.roles.update((person_id, frozenset(roles)) for person_id, roles in found.items())

    def usages_for(
        self, program_ids, partner_ids: set[int], person_ids: set[int]
    ) -> dict[int, engine.Usage]:
        """Each program's usage, with the totals of `partner_ids` and the monthly totals of
        `person_ids` (call under the programs' locks). Read for all the programs at once: a
        statement a kind of total, however many programs (`add_caps_totals`)."""
        new = {p: engine.Usage() for p in program_ids if p not in self.usages}
        if new:
            add_caps_totals(self.session, new)
            self.usages.update((p, (usage, set(), set())) for p, usage in new.items())
        # Only the partners and people not read yet: an API call of a few lines reads a few
        # partners' entries, not the totals of every partner in the program's history. The
        # totals read already are never read again: the usage holds what the chunks computed
        # since counted, written or not. Programs met in the same chunks miss the same totals
        # and share their reads; one first met in a later chunk misses more, read apart.
        missing: dict[tuple[frozenset, frozenset], dict[int, engine.Usage]] = {}
        for program_id in program_ids:
            usage, partners, people = self.usages[program_id]
            wanted = (frozenset(partner_ids - partners), frozenset(person_ids - people))
            if wanted[0] or wanted[1]:
                missing.setdefault(wanted, {})[program_id] = usage
        for (partners, people), usages in missing.items():
            add_caps_totals(
                self.session, usages, program=False, partner_ids=partners, person_ids=people
            )
            for program_id in usages:
                self.usages[program_id][1].update(partners)
                self.usages[program_id][2].update(people)
        return {program_id: self.usages[program_id][0] for program_id in program_ids}

    def load_enrolments(self, program_ids, person_ids) -> None:
        missing = {
            person_id
            for person_id in person_ids
            for program_id in program_ids
            if (program_id, person_id) not in self.enrolled
        }
        if not missing:
            return
        found = set(
            self.session.execute(
                select(Enrollment.program_id, Enrollment.person_id).where(
                    Enrollment.program_id.in_(program_ids),
                    in_values(self.session, Enrollment.person_id, sorted(missing)),
                    Enrollment.current,
                )
            ).all()
        )
        for program_id in program_ids:
            for person_id in missing:
                self.enrolled[(program_id, person_id)] = (program_id, person_id) in found

    def count_earnings(
        self, entries: list[tuple], skus, first_claim_id: int, deferred: Deferred
    ) -> None:
        """Add a posted chunk's ledger rows (in ENTRY_COLUMNS order) to what people earned,
        and its balance moves and people's months to what `finish` will write."""
        person_earnings(map(EntryRow._make, entries), self.earned)
        self.deferred.merge(deferred)
        self.skus.update(skus)
        if self.first_claim_id is None:
            self.first_claim_id = first_claim_id

    def finish(self) -> None:
        """Write the chunks' balance moves and people's months: each account and each
        person's month once for the file."""
        self.deferred.write(self.session)

    def forget_usage(self) -> None:
        """After a chunk was rolled back, or lines were posted one by one: read it again."""
        self.usages.clear()
