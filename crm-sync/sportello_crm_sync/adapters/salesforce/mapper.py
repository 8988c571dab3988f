"""Sportello's records as Salesforce fields, and Salesforce's answers as ids. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sportello.errors import PermanentError
from sportello_crm_sync.adapters.base import Customer, HistoryEntry, split_name

# External ID fields the org must define (Setup → Object Manager; "Unique" and "External ID" checked).
CONTACT_EXTERNAL_ID = "Sportello_Customer_Id__c"
CASE_EXTERNAL_ID = "Sportello_Conversation_Id__c"

# Field lengths from the object reference: a longer value is refused (STRING_TOO_LONG), so cut it.
FIRST_NAME_MAX, LAST_NAME_MAX, EMAIL_MAX, PHONE_MAX = 40, 80, 80, 40
SUBJECT_MAX, ORIGIN_MAX = 255, 40
COMMENT_MAX = 4_000  # CaseComment.CommentBody
COMMENTS_SCANNED = 200  # the newest comments searched for a marker

# Case.Origin's standard values where a channel has one; the other channels are social platforms.
_ORIGINS = {"email": "Email", "phone": "Phone", "chat": "Web", "web": "Web"}
_TRUNCATED = "…"

# What a refusal of the Case upsert says when its ContactId no longer names a contact: deleted (in
# the Recycle Bin), never existed / purged, or not a Contact id at all.
_MISSING_CONTACT_CODES = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"})


def contact_fields(customer: Customer) -> dict[str, str]:
    # LastName is required on create; a customer known only by a handle keeps it as the last name.
    # The external id is in the URL, never in the body.
    first, last = split_name(customer.display_name)
    fields = {"LastName": (last or customer.external_ref)[:LAST_NAME_MAX]}
    if first:
        fields["FirstName"] = first[:FIRST_NAME_MAX]
    if customer.email and len(customer.email) <= EMAIL_MAX:  # a cut address would be someone else's
        fields["Email"] = customer.email
    if customer.phone:
        fields["Phone"] = customer.phone[:PHONE_MAX]
    return fields


def case_status(entry: HistoryEntry) -> str | None:
    """The Case status an entry implies, None to leave it as it is.

    Resolved closes the case. An assignment or a status change (a reopen) while open means someone is
    working on it. A message leaves the status alone: a new case starts at the org's default
    ("New"), and an existing one keeps what an agent set (e.g. "Escalated"). Snoozing leaves it
    alone too: "On Hold" is not a status every org has, and the case is still not closed.
    """
    if entry.conversation_status == "resolved":
        return "Closed"
    if entry.conversation_status == "snoozed":
        return None
    if entry.kind in ("assignment", "status"):
        return "Working"
    return None


def case_origin(channel: str) -> str:
    return _ORIGINS.get(channel, f"Social: {channel}")[:ORIGIN_MAX]


def case_fields(contact_id: str, entry: HistoryEntry) -> dict[str, str]:
    subject = entry.subject or (f"Conversation on {entry.channel}" if entry.channel else "Conversation")
    fields = {"ContactId": contact_id, "Subject": _cut(subject, SUBJECT_MAX)}
    if entry.channel:
        fields["Origin"] = case_origin(entry.channel)
    status = case_status(entry)
    if status is not None:
        fields["Status"] = status
    return fields


def marker(key: str) -> str:
    """The last line of every comment: CaseComment has no custom fields, so the key lives in the text."""
    return f"[sportello:{key}]"


def comment_body(entry: HistoryEntry) -> str:
    """Summary, message text, marker: plain text, cut to fit ``CommentBody`` with the marker kept."""
    tail = "\n\n" + marker(entry.key)
    head = entry.summary
    if entry.text:
        head = f"{head}\n\n{entry.text}"
    return _cut(head, COMMENT_MAX - len(tail)) + tail


def comment_fields(case_id: str, entry: HistoryEntry) -> dict[str, Any]:
    # Internal: a published comment would be visible to the customer in a portal.
    return {"ParentId": case_id, "CommentBody": comment_body(entry), "IsPublished": False}


def comments_query(case_id: str) -> str:
    # SOQL, not SQL, and its one value goes through soql_string.
    select = "SELECT Id, CommentBody FROM CaseComment"
    return f"{select} WHERE ParentId = {soql_string(case_id)} ORDER BY CreatedDate DESC LIMIT {COMMENTS_SCANNED}"


def soql_string(value: str) -> str:
    """A SOQL string literal: backslash and single quote escaped, as the SOQL reference specifies."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def comment_with_marker(query_answer: Any, key: str) -> str | None:
    """The id of a comment already made for ``key``, None when there is none."""
    records = query_answer.get("records") if isinstance(query_answer, dict) else None
    if not isinstance(records, list):
        raise PermanentError(f"Salesforce query answered without records: {str(query_answer)[:200]}")
    wanted = marker(key)
    for record in records:
        body = record.get("CommentBody") if isinstance(record, dict) else None
        if isinstance(body, str) and body.rstrip().endswith(wanted):
            return record_id(record)
    return None


def saved_id(answer: Any) -> str:
    """The id in a save result ``{"id", "success": true, "errors": []}`` (create, upsert)."""
    if not isinstance(answer, dict) or answer.get("success") is False or not isinstance(answer.get("id"), str):
        raise PermanentError(f"Salesforce answered without an id: {str(answer)[:200]}")
    return str(answer["id"])


def record_id(record: Any) -> str:
    if not isinstance(record, dict) or not isinstance(record.get("Id"), str):
        raise PermanentError(f"Salesforce record without an Id: {str(record)[:200]}")
    return str(record["Id"])


def names_missing_contact(codes: Collection[str], fields: Collection[str]) -> bool:
    """Whether the Case upsert was refused because ``ContactId`` names no (live) contact."""
    if not _MISSING_CONTACT_CODES.isdisjoint(codes):
        return True
    return "FIELD_INTEGRITY_EXCEPTION" in codes and "ContactId" in fields


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - len(_TRUNCATED)] + _TRUNCATED
