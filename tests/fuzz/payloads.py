"""Documented platform payloads (templates the fuzzers damage or fill with any text) and random MIME."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.fuzz.strategies import any_text

NOW_MS = 1_795_000_000_000  # 2026-11-16, in milliseconds


def x_payload(text: str = "my order is late") -> dict[str, Any]:
    tweet = {"created_at": "Mon Nov 16 10:00:00 +0000 2026", "id_str": "1860000000000000001", "text": text,
             "extended_tweet": {"full_text": text}, "timestamp_ms": str(NOW_MS),
             "in_reply_to_status_id_str": "1860000000000000000", "in_reply_to_user_id_str": "2244994945",
             "possibly_sensitive": False,
             "user": {"id_str": "1001", "name": "Ann", "screen_name": "ann", "followers_count": 52,
                      "verified": False}}
    dm = {"type": "message_create", "id": "1860000000000000002", "created_timestamp": str(NOW_MS),
          "message_create": {"target": {"recipient_id": "2244994945"}, "sender_id": "1001",
                             "message_data": {"text": text}}}
    return {"for_user_id": "2244994945", "tweet_create_events": [tweet], "direct_message_events": [dm],
            "users": {"1001": {"id": "1001", "name": "Ann", "screen_name": "ann", "followers_count": 52,
                               "verified": True}},
            "direct_message_mark_read_events": [{"created_timestamp": str(NOW_MS), "sender_id": "1001"}]}


def _messaging(text: str, recipient: str) -> list[dict[str, Any]]:
    head = {"sender": {"id": "5001"}, "recipient": {"id": recipient}, "timestamp": NOW_MS}
    return [
        {**head, "message": {"mid": "m_1", "text": text, "reply_to": {"mid": "m_0"}}},
        {**head, "message": {"mid": "m_2", "attachments": [{"type": "image", "payload": {"url": "u"}}]}},
        {**head, "message": {"mid": "m_3", "text": text, "is_echo": True}},
        {**head, "delivery": {"mids": ["m_9"], "watermark": NOW_MS}},
        {**head, "read": {"watermark": NOW_MS}},
    ]


def meta_page(text: str = "where is my parcel") -> dict[str, Any]:
    comment = {"item": "comment", "verb": "add", "post_id": "10_1", "parent_id": "10_1", "comment_id": "1_2",
               "from": {"id": "5001", "name": "Ann"}, "message": text, "created_time": NOW_MS // 1000}
    return {"object": "page", "entry": [{"id": "10", "time": NOW_MS // 1000,
                                         "changes": [{"field": "feed", "value": comment}],
                                         "messaging": _messaging(text, "10")}]}


def meta_instagram(text: str = "where is my parcel") -> dict[str, Any]:
    comment = {"id": "c_1", "text": text, "from": {"id": "5001", "username": "ann"}, "media": {"id": "media_1"}}
    return {"object": "instagram", "entry": [{"id": "20", "time": NOW_MS // 1000,
                                              "changes": [{"field": "comments", "value": comment}],
                                              "messaging": _messaging(text, "20")}]}


def meta_whatsapp(text: str = "where is my parcel") -> dict[str, Any]:
    stamp = str(NOW_MS // 1000)
    value = {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": "40"},
        "contacts": [{"wa_id": "393331234567", "profile": {"name": "Marco"}}],
        "messages": [
            {"from": "393331234567", "id": "wamid.1", "timestamp": stamp, "type": "text", "text": {"body": text},
             "context": {"id": "wamid.0"}},
            {"from": "393331234567", "id": "wamid.2", "timestamp": stamp, "type": "interactive",
             "interactive": {"button_reply": {"id": "b", "title": "Yes"}}},
            {"from": "393331234567", "id": "wamid.3", "timestamp": stamp, "type": "image", "image": {"caption": text}},
        ],
        "statuses": [{"id": "wamid.9", "status": "failed", "timestamp": stamp, "recipient_id": "393331234567",
                      "errors": [{"code": 131047, "title": "Re-engagement message"}]},
                     {"id": "wamid.8", "status": "read", "timestamp": stamp, "recipient_id": "393331234567"}],
    }
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]}


def chat_body(text: str = "hello") -> dict[str, Any]:
    return {"session_id": "0b7e9c8e-1111-4a4a-9c9c-222222222222", "account": "chat:acme",
            "visitor_id": "0123abcd.ffff", "visitor_name": "Visitor", "client_message_id": "m1", "text": text,
            "sent_at": "2026-11-16T10:00:00+00:00"}


def api_body(text: str = "hello") -> dict[str, Any]:
    return {"channel": "fuzz", "account": "fuzz:acme", "external_id": "e1",
            "author": {"id": "a1", "display_name": "Ann", "handle": "ann", "followers": 3, "verified": True},
            "text": text, "sent_at": "2026-11-16T10:00:00+01:00", "reply_to": "e0", "direction": "inbound",
            "visibility": "public", "flags": ["spam"], "recipient_id": None}


# -- e-mail: random MIME ------------------------------------------------------------------------------

CHARSETS = ("utf-8", "us-ascii", "iso-8859-1", "windows-1252", "utf-16", "shift_jis", "gb2312", "big5",
            "koi8-r", "utf-7", "x-unknown-charset", "", '"', "utf-8\x00")
TRANSFER_ENCODINGS = ("7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "bogus")
HEADER_NAMES = ("From", "To", "Cc", "Delivered-To", "Subject", "Message-ID", "In-Reply-To", "References", "Date",
                "X-Spam-Flag", "X-Spam-Status", "Auto-Submitted", "Precedence", "Content-Type",
                "Content-Transfer-Encoding", "MIME-Version")
HEADER_SPECIMENS = (
    "Ann <ann@example.com>", "ann@example.com", "<id@example.com>", "<a@b> <c@d>", "=?utf-8?b?w6g=?=",
    "=?x-unknown?q?abc?=", "=?utf-8?q?unterminated", "Mon, 1 Jan 0001 00:00:00 +1400",
    "Fri, 31 Dec 9999 23:59:59 -1400", "Mon, 16 Nov 2026 10:00:00 +0000", "Mon, 16 Nov 2026 10:00:00 -0000",
    "Mon, 16 Nov 2026 99:99:99 +9999", "yes", "YES, score=9", "auto-replied", "bulk", "no", "",
    '"\\"<>@,;:', "undisclosed-recipients:;", "a@b, c@d, <>", "text/plain; charset=", "multipart/mixed",
)
_header_value = st.sampled_from(HEADER_SPECIMENS) | any_text.map(lambda text: text[:300])


def _bytes_in(text: str, charset: str) -> bytes:
    try:
        return text.encode(charset.strip('"\x00') or "utf-8", "surrogatepass")
    except (LookupError, UnicodeError):
        return text.encode("utf-8", "surrogatepass")


@st.composite
def mime_messages(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(st.tuples(st.sampled_from(HEADER_NAMES), _header_value), max_size=12))
    if draw(st.booleans()):  # mostly addressed, so parsing gets to the body
        headers = [("From", "Ann <ann@example.com>"), ("To", "support@acme.test"), *headers]
    head = b"\r\n".join(f"{name}: {value}".encode("utf-8", "surrogatepass") for name, value in headers)
    kind = draw(st.sampled_from(("plain", "html", "multipart", "raw")))
    text = draw(any_text)
    if kind == "raw":
        return head + b"\r\n\r\n" + draw(st.binary(max_size=2000))
    if kind != "multipart":
        charset = draw(st.sampled_from(CHARSETS))
        content = text if kind == "plain" else f"<html><body><p>{text}</p><blockquote>old</blockquote></body></html>"
        return head + (f"\r\nContent-Type: text/{kind}; charset=\"{charset}\"\r\nContent-Transfer-Encoding: "
                       f"{draw(st.sampled_from(TRANSFER_ENCODINGS))}\r\n\r\n").encode() + _bytes_in(content, charset)
    parts = b""
    for subtype in draw(st.lists(st.sampled_from(("plain", "html", "octet-stream", "calendar")), max_size=3)):
        charset = draw(st.sampled_from(CHARSETS))
        parts += (f"--BOUNDARY\r\nContent-Type: text/{subtype}; charset={charset}\r\nContent-Transfer-Encoding: "
                  f"{draw(st.sampled_from(TRANSFER_ENCODINGS))}\r\n\r\n").encode() + _bytes_in(text, charset) + b"\r\n"
    closing = b"--BOUNDARY--\r\n" if draw(st.booleans()) else b""
    multipart = draw(st.sampled_from(("alternative", "mixed", "related")))
    return head + f"\r\nContent-Type: multipart/{multipart}; boundary=BOUNDARY\r\n\r\n".encode() + parts + closing
