"""The customer identity graph: which identities are one person, and how customers merge and unmerge.

Rules
- **Verified vs claimed.** An identity is *verified* when it is proven to be the customer's: seen as the author of
  a platform message, learnt from a platform's answer, or linked through the API as ``verified``. Otherwise it is
  only *claimed* (linked with ``verified: false``). A claimed identity routes no messages: when its identifier
  writes to us, the author becomes (or stays) its own customer, the identity moves to them as verified, and the
  customer that claimed it gets a merge suggestion instead.
- **Automatic merges only on verified exact identifiers.** Linking an identity as verified that another customer
  holds verified merges that customer into this one (``automatic``). Everything weaker is a *suggestion* a person
  decides on: a ``verified: false`` link of someone else's identity (answered 202, audited
  ``auto_merge_refused``), and, when intake creates a customer, the same handle on another platform
  (case-insensitive, without a leading @) or the same address another customer only claimed.
- **A merge** moves all the merged customer's identities to the survivor, sets ``merged_into``, records exactly
  which identities moved (so an unmerge gives back those and only those still on the survivor), audits both
  customers and emits ``CustomerMerged``. Nobody is merged into themself, into a merged customer, or twice. Both
  customers' rows are locked (``SELECT ... FOR UPDATE``, in id order) so concurrent merges cannot interleave. A
  blocked merged customer blocks the survivor (a merge must not unblock an abuser); an unmerge leaves the block
  for a supervisor to lift.
- **History.** Conversations and messages keep the customer they were made for; the survivor's history is its own
  plus that of every customer merged into it (``repository._history``, the ``conversations`` listing, threading,
  chat history). New messages from a moved identity belong to the survivor and join the open conversation of
  that history on the account.
- **Events**: ``CustomerUpdated`` (created, profile, identity_linked, identity_unlinked) keyed by the customer,
  ``CustomerMerged``/``CustomerUnmerged`` keyed by the survivor; every one takes the next ``customers.sequence``
  of the customer it is keyed by.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import structlog

from sportello.contracts import CustomerMerged, CustomerUnmerged, CustomerUpdated, IdentityRef
from sportello.db import Tx
from sportello.http.problems import Conflict, NotFound
from sportello_ingest.repository import IngestRepository

log = structlog.get_logger(__name__)

INGEST = "ingest"  # the actor of what intake does on its own
MAX_WEAK_MATCHES = 3  # suggestions made for one new customer, at most
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

Change = Literal["created", "profile", "identity_linked", "identity_unlinked"]


@dataclass(frozen=True)
class Linked:
    outcome: Literal["linked", "already_linked", "merged", "claimed", "suggested"]
    merge: dict[str, Any] | None = None
    suggestion: dict[str, Any] | None = None


def normalise_identifier(platform: str, external_id: str) -> str:
    """E-mail addresses are kept lowercased (as the e-mail channel sees them); other ids as they are."""
    return external_id.lower() if platform == "email" else external_id


def normalise_handle(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


# -- intake ------------------------------------------------------------------------------------------

async def customer_created(tx: Tx, repo: IngestRepository, customer_id: uuid.UUID, platform: str,
                           external_id: str, handle: str | None, now: datetime) -> None:
    """A message created a customer: suggest (never merge) customers it weakly matches, then announce it.

    Two indexed lookups: the same handle on another platform, the same address claimed by another customer.
    """
    matches: list[tuple[uuid.UUID, dict[str, Any]]] = []
    identity = {"platform": platform, "external_id": external_id, "handle": handle}
    normalised = normalise_handle(handle) if handle else ""
    if normalised:
        for found in await repo.same_handle_elsewhere(normalised, platform, customer_id, MAX_WEAK_MATCHES):
            matches.append((found["customer_id"], {
                "match": "handle", "handle": normalised, "identity": identity, "matched_identity": _key(found),
                "weak_because": "the same handle on another platform can belong to someone else"}))
    if _ADDRESS.fullmatch(external_id):
        for found in await repo.claimed_address(external_id.lower(), customer_id, MAX_WEAK_MATCHES):
            matches.append((found["customer_id"], {
                "match": "claimed_address", "address": external_id.lower(), "identity": identity,
                "matched_identity": _key(found),
                "weak_because": "the other customer only claimed this address; it never wrote from it"}))
    seen: set[uuid.UUID] = set()
    for other, evidence in matches:
        if other in seen or len(seen) == MAX_WEAK_MATCHES:
            continue
        seen.add(other)
        # The existing customer survives if a person accepts: it has the longer history.
        await suggest(repo, other, customer_id, evidence, INGEST, now, unless_decided=True)
    await publish_updated(tx, repo, customer_id, "created", now)


async def claim_proven(tx: Tx, repo: IngestRepository, claimant_id: uuid.UUID, owner_id: uuid.UUID,
                       platform: str, external_id: str, actor: str, now: datetime, *,
                       claimant_survives: bool) -> dict[str, Any]:
    """An identity ``claimant_id`` only claimed moved to ``owner_id``, to whom it is proven to belong.

    The move is the caller's (it knows how it is proven); this audits it, announces the claimant's loss and
    suggests the two may be one person (accepting merges the other into the claimant if ``claimant_survives``).
    """
    identity = {"platform": platform, "external_id": external_id}
    await repo.audit(claimant_id, "unlinked", actor, {"identity": identity, "moved_to": str(owner_id),
                                                      "why": "only claimed here; proven to be the other customer's"},
                     now)
    await repo.audit(owner_id, "linked", actor, {"identity": identity, "verified": True,
                                                "taken_from": str(claimant_id)}, now)
    await publish_updated(tx, repo, claimant_id, "identity_unlinked", now)
    survivor, merged = (claimant_id, owner_id) if claimant_survives else (owner_id, claimant_id)
    return await suggest(repo, survivor, merged, {
        "match": "claimed_identity", "identity": identity,
        "weak_because": "the other customer only claimed this identity; this one proved it is theirs"},
        actor, now)


async def learnt(tx: Tx, customer_id: uuid.UUID, platform: str, external_id: str, source: str,
                 now: datetime) -> None:
    """A platform named a customer's id (a private reply's recipient): link it, verified, if nobody has it."""
    repo = IngestRepository(tx.session)
    owner = await repo.survivor_of(customer_id) or customer_id
    if await repo.insert_identity(platform, external_id, owner, None, source, verified=True):
        await repo.audit(owner, "linked", INGEST, {"identity": {"platform": platform, "external_id": external_id},
                                                   "verified": True, "source": source}, now)
        await publish_updated(tx, repo, owner, "identity_linked", now)


async def publish_updated(tx: Tx, repo: IngestRepository, customer_id: uuid.UUID, change: Change,
                          now: datetime) -> None:
    """``CustomerUpdated`` with the customer's whole current picture and their next sequence number."""
    customer = await repo.customer(customer_id)
    assert customer is not None
    identities = await repo.identities_of(customer_id)
    sequence = await repo.next_sequence(customer_id)
    await tx.outbox.add(CustomerUpdated(
        customer_id=customer_id, change=change, display_name=customer["display_name"],
        identities=tuple(_ref(i) for i in identities), sequence=sequence, at=now), subject=str(customer_id))


# -- the API -----------------------------------------------------------------------------------------

async def link(tx: Tx, customer_id: uuid.UUID, platform: str, external_id: str, handle: str | None,
               verified: bool | None, actor: str, now: datetime) -> Linked:
    """Link an identity to a customer, by the rules of the module docstring; see ``IdentityIn.verified``."""
    repo = IngestRepository(tx.session)
    external_id = normalise_identifier(platform, external_id)
    identity = {"platform": platform, "external_id": external_id}
    for _ in range(3):
        seen = await repo.identity(platform, external_id)
        owner = seen["customer_id"] if seen else None
        locked = await repo.lock_customers(sorted({customer_id} | ({owner} if owner else set())))
        customer = locked.get(customer_id)
        if customer is None:
            raise NotFound(f"No customer {customer_id}.")
        await _refuse_merged(repo, customer, "link identities to")
        current = await repo.identity(platform, external_id, lock=True)
        if (current["customer_id"] if current else None) != owner:
            continue  # it changed hands before we held the locks: look again

        if current is None:
            if not await repo.insert_identity(platform, external_id, customer_id, handle, "api",
                                              verified=verified is not False):
                continue
            await repo.audit(customer_id, "linked", actor, {"identity": identity, "verified": verified is not False},
                             now)
            await publish_updated(tx, repo, customer_id, "identity_linked", now)
            return Linked("linked")

        if owner == customer_id:
            if verified and await repo.verify_identity(platform, external_id, customer_id):
                await repo.audit(customer_id, "linked", actor, {"identity": identity, "verified": True,
                                                                "was": "claimed"}, now)
                await publish_updated(tx, repo, customer_id, "identity_linked", now)
            return Linked("already_linked")

        assert owner is not None
        named = f"{platform}:{external_id}"
        if verified is None:
            raise Conflict(f"{named} belongs to another customer. Link it with verified: true to merge that "
                           "customer into this one, verified: false to suggest the merge, or merge them.",
                           customer_id=str(owner))
        if verified and current["verified"]:
            merged = await merge(tx, customer_id, owner, automatic=True, actor=actor, now=now,
                                 reason=f"{named} is a verified identifier of both customers")
            return Linked("merged", merge=merged)
        if verified:
            # The other customer only claimed it: it is this customer's, proven. Their claim becomes a suggestion.
            if not await repo.take_identity(platform, external_id, owner, customer_id, handle, "api"):
                continue
            suggestion = await claim_proven(tx, repo, owner, customer_id, platform, external_id, actor, now,
                                            claimant_survives=False)
            await publish_updated(tx, repo, customer_id, "identity_linked", now)
            return Linked("claimed", suggestion=suggestion)
        # Only claimed here: a weak match, never a merge.
        suggestion = await suggest(repo, customer_id, owner, {
            "match": "claimed_identity", "identity": identity, "linked_by": actor,
            "weak_because": "linked as unverified; only verified identifiers merge customers"}, actor, now)
        await repo.audit(customer_id, "auto_merge_refused", actor, {
            "identity": identity, "owner": str(owner), "suggestion_id": str(suggestion["id"]),
            "why": "the identifier is not verified for this customer"}, now)
        return Linked("suggested", suggestion=suggestion)
    raise Conflict(f"{platform}:{external_id} kept changing hands meanwhile; try again.")


async def merge(tx: Tx, survivor_id: uuid.UUID, merged_id: uuid.UUID, *, automatic: bool, reason: str,
                actor: str, now: datetime) -> dict[str, Any]:
    """Fold ``merged_id`` into ``survivor_id``; returns the merge record."""
    if survivor_id == merged_id:
        raise Conflict("A customer cannot be merged into itself.")
    repo = IngestRepository(tx.session)
    locked = await repo.lock_customers(sorted((survivor_id, merged_id)))
    for needed in (survivor_id, merged_id):
        if needed not in locked:
            raise NotFound(f"No customer {needed}.")
    survivor, merged = locked[survivor_id], locked[merged_id]
    if merged["merged_into"] is not None:
        raise Conflict(f"Customer {merged_id} is already merged into {merged['merged_into']}.",
                       merged_into=str(merged["merged_into"]))
    await _refuse_merged(repo, survivor, "merge into")

    moved = await repo.move_identities(merged_id, survivor_id)
    await repo.set_merged_into(merged_id, survivor_id)
    blocked_inherited = bool(merged["blocked"] and not survivor["blocked"])
    if blocked_inherited:
        why = f": {merged['blocked_reason']}" if merged["blocked_reason"] else ""
        await repo.set_blocked(survivor_id, True, f"merged from blocked customer {merged_id}{why}")
    merge_id = uuid.uuid4()
    record: dict[str, Any] = dict(id=merge_id, survivor_id=survivor_id, merged_id=merged_id, automatic=automatic,
                                  reason=reason, actor=actor, identities_moved=[_key(i) for i in moved], at=now)
    await repo.insert_merge(record)
    await repo.audit(survivor_id, "merged", actor, {
        "merge_id": str(merge_id), "merged_customer_id": str(merged_id), "automatic": automatic,
        "reason": reason, "identities_moved": record["identities_moved"],
        **({"blocked_inherited": True} if blocked_inherited else {})}, now)
    await repo.audit(merged_id, "merged_into", actor, {
        "merge_id": str(merge_id), "survivor_id": str(survivor_id), "automatic": automatic, "reason": reason},
        now)
    for pending in await repo.suggestions_between(survivor_id, merged_id, ("pending",)):
        await _decide(repo, pending, "accepted", actor, now, merge_id=merge_id)

    sequence = await repo.next_sequence(survivor_id)
    await tx.outbox.add(CustomerMerged(
        customer_id=survivor_id, merged_customer_id=merged_id, merge_id=merge_id,
        identities_moved=tuple(_ref(i) for i in moved), automatic=automatic, reason=reason, actor=actor,
        sequence=sequence, at=now), subject=str(survivor_id))
    log.info("ingest.customers_merged", survivor_id=str(survivor_id), merged_id=str(merged_id),
             automatic=automatic, identities=len(moved))
    return {**record, "undone_at": None, "undone_by": None}


async def unmerge(tx: Tx, merge_id: uuid.UUID, actor: str, now: datetime) -> dict[str, Any]:
    """Undo a merge: the merged customer gets back exactly the identities that merge moved and the survivor
    still has (one linked to the survivor since stays there); returns the merge record, now undone."""
    repo = IngestRepository(tx.session)
    record = await repo.merge(merge_id, lock=True)
    if record is None:
        raise NotFound(f"No merge {merge_id}.")
    if record["undone_at"] is not None:
        raise Conflict(f"Merge {merge_id} was already undone at {record['undone_at'].isoformat()} by "
                       f"{record['undone_by']}.")
    survivor_id, merged_id = record["survivor_id"], record["merged_id"]
    locked = await repo.lock_customers(sorted((survivor_id, merged_id)))
    survivor, merged = locked[survivor_id], locked[merged_id]
    if survivor["merged_into"] is not None:
        later = await repo.active_merge_of(survivor_id)
        raise Conflict(f"The survivor of this merge, customer {survivor_id}, has since been merged into "
                       f"{survivor['merged_into']}: undo that merge first.",
                       merged_into=str(survivor["merged_into"]),
                       blocking_merge_id=str(later["id"]) if later else None)
    if merged["merged_into"] != survivor_id:
        raise Conflict(f"Customer {merged_id} is no longer merged into {survivor_id}.")

    keys = [(i["platform"], i["external_id"]) for i in record["identities_moved"]]
    restored = await repo.move_identities(survivor_id, merged_id, keys)
    kept = sorted(set(keys) - {(i["platform"], i["external_id"]) for i in restored})
    await repo.set_merged_into(merged_id, None)
    await repo.mark_undone(merge_id, actor, now)
    restored_keys = [_key(i) for i in restored]
    await repo.audit(survivor_id, "unmerged", actor, {
        "merge_id": str(merge_id), "restored_customer_id": str(merged_id), "identities_restored": restored_keys,
        "identities_not_restored": [{"platform": p, "external_id": e} for p, e in kept]}, now)
    await repo.audit(merged_id, "unmerged", actor, {
        "merge_id": str(merge_id), "survivor_id": str(survivor_id), "identities_restored": restored_keys}, now)
    sequence = await repo.next_sequence(survivor_id)
    await tx.outbox.add(CustomerUnmerged(
        customer_id=survivor_id, restored_customer_id=merged_id, merge_id=merge_id,
        identities_restored=tuple(_ref(i) for i in restored), actor=actor, sequence=sequence, at=now),
        subject=str(survivor_id))
    log.info("ingest.customers_unmerged", survivor_id=str(survivor_id), merged_id=str(merged_id),
             restored=len(restored))
    return {**record, "undone_at": now, "undone_by": actor}


async def accept(tx: Tx, suggestion_id: uuid.UUID, actor: str,
                 now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """Accept a suggestion: merge its other customer into its customer (or their survivors, if either was merged
    since). Returns the suggestion and the merge."""
    repo = IngestRepository(tx.session)
    suggestion = await _pending(repo, suggestion_id)
    survivor = await repo.survivor_of(suggestion["customer_id"]) or suggestion["customer_id"]
    merged = await repo.survivor_of(suggestion["other_customer_id"]) or suggestion["other_customer_id"]
    if survivor == merged:
        raise Conflict(f"The two customers are already one: both are merged into {survivor}. Reject the suggestion.",
                       customer_id=str(survivor))
    reason = f"accepted merge suggestion {suggestion_id} ({suggestion['evidence'].get('match', 'match')})"
    record = await merge(tx, survivor, merged, automatic=False, reason=reason, actor=actor, now=now)
    current = await repo.suggestion(suggestion_id)
    assert current is not None
    if current["status"] == "pending":  # the merge closed the pair's suggestions unless it was between survivors
        await _decide(repo, current, "accepted", actor, now, merge_id=record["id"])
    decided = await repo.suggestion(suggestion_id)
    assert decided is not None
    return decided, record


async def reject(tx: Tx, suggestion_id: uuid.UUID, actor: str, now: datetime) -> dict[str, Any]:
    repo = IngestRepository(tx.session)
    suggestion = await _pending(repo, suggestion_id)
    await _decide(repo, suggestion, "rejected", actor, now)
    decided = await repo.suggestion(suggestion_id)
    assert decided is not None
    return decided


async def suggest(repo: IngestRepository, customer_id: uuid.UUID, other_id: uuid.UUID, evidence: dict[str, Any],
                  actor: str, now: datetime, *, unless_decided: bool = False) -> dict[str, Any]:
    """The pair's pending suggestion, made now if there is none (accepting it merges ``other_id`` into
    ``customer_id``). ``unless_decided``: none is made again for a pair a person already decided on; the
    latest decision comes back instead."""
    statuses = ("pending", "accepted", "rejected") if unless_decided else ("pending",)
    existing = await repo.suggestions_between(customer_id, other_id, statuses)
    pending = [s for s in existing if s["status"] == "pending"]
    if pending:
        return pending[0]
    if existing:
        return existing[-1]
    suggestion_id = uuid.uuid4()
    made = await repo.insert_suggestion(dict(id=suggestion_id, customer_id=customer_id, other_customer_id=other_id,
                                             evidence=evidence, status="pending", created_at=now))
    if not made:  # a concurrent request made the pair's pending one first
        return (await repo.suggestions_between(customer_id, other_id, ("pending",)))[0]
    for one, another in ((customer_id, other_id), (other_id, customer_id)):
        await repo.audit(one, "suggestion_created", actor, {
            "suggestion_id": str(suggestion_id), "other_customer_id": str(another), "evidence": evidence}, now)
    suggestion = await repo.suggestion(suggestion_id)
    assert suggestion is not None
    return suggestion


async def _pending(repo: IngestRepository, suggestion_id: uuid.UUID) -> dict[str, Any]:
    suggestion = await repo.suggestion(suggestion_id, lock=True)
    if suggestion is None:
        raise NotFound(f"No merge suggestion {suggestion_id}.")
    if suggestion["status"] != "pending":
        raise Conflict(f"Merge suggestion {suggestion_id} was already {suggestion['status']} by "
                       f"{suggestion['decided_by']}.", decision=suggestion["status"])
    return suggestion


async def _decide(repo: IngestRepository, suggestion: dict[str, Any], status: Literal["accepted", "rejected"],
                  actor: str, now: datetime, *, merge_id: uuid.UUID | None = None) -> None:
    await repo.decide_suggestion(suggestion["id"], status, actor, now, merge_id)
    pair = (suggestion["customer_id"], suggestion["other_customer_id"])
    for one, another in (pair, pair[::-1]):
        await repo.audit(one, f"suggestion_{status}", actor, {
            "suggestion_id": str(suggestion["id"]), "other_customer_id": str(another),
            **({"merge_id": str(merge_id)} if merge_id else {})}, now)


async def _refuse_merged(repo: IngestRepository, customer: dict[str, Any], what: str) -> None:
    if customer["merged_into"] is not None:
        survivor = await repo.survivor_of(customer["id"])
        raise Conflict(f"Customer {customer['id']} was merged into {survivor}: {what} that one instead.",
                       merged_into=str(survivor))


def _key(identity: dict[str, Any]) -> dict[str, str]:
    return {"platform": identity["platform"], "external_id": identity["external_id"]}


def _ref(identity: dict[str, Any]) -> IdentityRef:
    return IdentityRef(platform=identity["platform"], external_id=identity["external_id"],
                       handle=identity.get("handle"), verified=identity.get("verified", True))
