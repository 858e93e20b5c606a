"""DNS messages as far as systrace reads them: a query's name, an answer's addresses.

Pure (no sockets).  The resolver of :mod:`systrace_py.names` sits between a traced program
and its name server; it needs the name a query asks for (to refuse it), a "no such name"
answer to that query, and the addresses an answer gives for the name asked (to know, later,
which name a connect to an address stands for).  A query it cannot read as one plain
question (:func:`plain_query`) is answered "format error" (:func:`format_error`), never
passed on: a name in it would reach the server undecided (an update's zone, a second
question, a record beside the question).  An *answer* it cannot read is passed back unread.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from systrace_py.policy.net import normal_name

__all__ = [
    "TYPE_A",
    "TYPE_AAAA",
    "TYPE_CNAME",
    "Answer",
    "DnsFormatError",
    "Query",
    "answer_of",
    "format_error",
    "plain_query",
    "query_of",
    "refusal",
    "truncated",
    "udp_limit",
]

TYPE_A = 1
TYPE_CNAME = 5
TYPE_AAAA = 28
CLASS_IN = 1
TYPE_OPT = 41
RCODE_FORMERR = 1
RCODE_SERVFAIL = 2
RCODE_NXDOMAIN = 3
#: the largest answer a client may take over UDP unless its OPT record says more (RFC 1035)
UDP_CLASSIC = 512
_HEADER = struct.Struct(">HHHHHH")
_MAX_POINTERS = 64  # a name longer than this many jumps is a loop


class DnsFormatError(ValueError):
    """A message systrace cannot read as DNS."""


@dataclass(frozen=True, slots=True)
class Query:
    """The question of a query: its id, name (lower case, no trailing dot), type and class."""

    id: int
    name: str
    qtype: int
    qclass: int
    end: int  # where the question ends in the message


@dataclass(frozen=True, slots=True)
class Answer:
    """What a response says of the name asked: its rcode, the names of its CNAME chain (the
    name asked first) and the A/AAAA addresses at the end of the chain."""

    id: int
    rcode: int
    chain: tuple[str, ...]
    addresses: tuple[str, ...]


def _name(message: bytes, offset: int) -> tuple[str, int]:
    """The (possibly compressed) name at ``offset``, in lower case without the root's dot
    (the form rules compare: wire names are ASCII already), and where it ends there."""
    labels: list[str] = []
    end: int | None = None
    jumps = 0
    length = 0
    while True:
        if offset >= len(message):
            raise DnsFormatError("name runs past the message")
        size = message[offset]
        if size & 0xC0 == 0xC0:
            if offset + 1 >= len(message):
                raise DnsFormatError("truncated name pointer")
            if end is None:
                end = offset + 2
            jumps += 1
            if jumps > _MAX_POINTERS:
                raise DnsFormatError("name pointer loop")
            offset = ((size & 0x3F) << 8) | message[offset + 1]
            continue
        if size & 0xC0:
            raise DnsFormatError(f"unknown label type {size:#x}")
        offset += 1
        if size == 0:
            break
        label = message[offset:offset + size]
        if len(label) != size:
            raise DnsFormatError("label runs past the message")
        if b"." in label:
            # the labels are joined by dots: ``www.good`` + ``test`` would read as the
            # three labels of www.good.test, another name (red team 87)
            raise DnsFormatError("a label holding a dot")
        length += size + 1
        if length + 1 > 255:  # (+ the root's zero byte: RFC 1035's 255 counts it)
            raise DnsFormatError("name longer than 255 bytes")
        labels.append(label.decode("latin-1"))
        offset += size
    return ".".join(labels).lower(), end if end is not None else offset


def query_of(message: bytes) -> Query:
    """The first question of a query (a query with no question is unreadable here)."""
    if len(message) < _HEADER.size:
        raise DnsFormatError("shorter than a DNS header")
    ident, flags, questions, _, _, _ = _HEADER.unpack_from(message)
    if flags & 0x8000:
        raise DnsFormatError("a response, not a query")
    if flags & 0x7800:
        raise DnsFormatError("not a standard query")
    if questions < 1:
        raise DnsFormatError("no question")
    name, offset = _name(message, _HEADER.size)
    if offset + 4 > len(message):
        raise DnsFormatError("truncated question")
    qtype, qclass = struct.unpack_from(">HH", message, offset)
    return Query(ident, name, qtype, qclass, offset + 4)


def plain_query(message: bytes) -> Query:
    """The question of a query that is one plain question and nothing else a name could be
    in: a standard query (opcode 0) of exactly one question, no answer or authority records,
    at most one additional record -- EDNS's OPT, whose owner is the root -- and no bytes
    after them.  What resolvers send (glibc, musl, Go, c-ares: one question, an OPT when
    EDNS is on).  Anything else is a :class:`DnsFormatError`: a second question, an update's
    zone, a record beside the question or trailing bytes could carry a name the rules were
    not asked about to the server (red team 20 saw such messages passed on unread); and so
    is a question whose name is not byte for byte the text the rules compare
    (:func:`_spelled_as_read`)."""
    query = query_of(message)
    _, _, questions, answers, authority, additional = _HEADER.unpack_from(message)
    if questions != 1 or answers or authority or additional > 1:
        raise DnsFormatError(f"{questions} questions, {answers} answers, {authority} "
                             f"authority and {additional} additional records")
    end = query.end
    if additional:
        if message[end:end + 1] != b"\0" or end + 11 > len(message):
            raise DnsFormatError("an additional record that is not EDNS's OPT")
        rtype, _, _, size = struct.unpack_from(">HHIH", message, end + 1)
        if rtype != TYPE_OPT:
            raise DnsFormatError(f"an additional record of type {rtype}, not OPT")
        end += 11 + size
    if end != len(message):
        raise DnsFormatError("bytes after the query's records")
    if not _spelled_as_read(query.name):
        raise DnsFormatError("a name that is not the text rules compare")
    return query


def _spelled_as_read(name: str) -> bool:
    """Whether ``name`` (as :func:`_name` reads it) is its own :func:`normal_name`: the
    text the rules compare is the name the server is asked.  A byte beyond ASCII (read as
    Latin-1, mapped by IDNA: 0xAD, a soft hyphen, to nothing, so ``www\\xad.good.test``
    was recorded as www.good.test), white space at an end or a trailing dot would be
    decided, or recorded, as a name the server was not asked -- one a wildcard record, or
    a zone of the program's owner, answers with any address (red team 87).  normal_name
    may also fail on such a name (IDNA: an empty or long label), which raised in the
    resolver's thread."""
    try:
        return normal_name(name) == name
    except UnicodeError:
        return False


def udp_limit(message: bytes, query: Query) -> int:
    """The largest answer the sender of ``message`` (a :func:`plain_query`) takes over UDP:
    its OPT record's payload size (its class field, never below 512), else 512."""
    _, _, _, _, _, additional = _HEADER.unpack_from(message)
    if not additional or len(message) < query.end + 5:
        return UDP_CLASSIC
    return max(UDP_CLASSIC, struct.unpack_from(">H", message, query.end + 3)[0])


def truncated(message: bytes, reply: bytes) -> bytes:
    """``reply`` (to the plain query ``message``) cut to its header and question with TC set:
    the answer did not fit the sender's UDP limit, and a resolver asks again over TCP."""
    query = query_of(message)
    ident, flags, _, _, _, _ = _HEADER.unpack_from(reply)
    return _HEADER.pack(ident, flags | 0x0200, 1, 0, 0, 0) + message[_HEADER.size:query.end]


def format_error(message: bytes) -> bytes | None:
    """The answer "format error" to a message that is no plain query: its id, no question,
    no records (None: too short to have an id)."""
    if len(message) < 2:
        return None
    ident = struct.unpack_from(">H", message)[0]
    return _HEADER.pack(ident, 0x8000 | RCODE_FORMERR, 0, 0, 0, 0)


def refusal(message: bytes, rcode: int = RCODE_NXDOMAIN) -> bytes:
    """The answer "no such name" (``rcode``) to a query: its id, its question, no records."""
    query = query_of(message)
    _, flags, _, _, _, _ = _HEADER.unpack_from(message)
    flags = 0x8000 | 0x0080 | (flags & 0x0100) | rcode  # QR, RA, the query's RD
    return _HEADER.pack(query.id, flags, 1, 0, 0, 0) + message[_HEADER.size:query.end]


def answer_of(message: bytes) -> Answer:
    """The name asked, its CNAME chain and the addresses it ends at, read from a response.

    Only records on the chain from the question count: an answer to a query for
    ``x.evil.example`` cannot claim addresses for another name it did not ask about."""
    if len(message) < _HEADER.size:
        raise DnsFormatError("shorter than a DNS header")
    ident, flags, questions, answers, _, _ = _HEADER.unpack_from(message)
    if not flags & 0x8000:
        raise DnsFormatError("a query, not a response")
    if questions != 1:
        raise DnsFormatError(f"{questions} questions")
    asked, offset = _name(message, _HEADER.size)
    offset += 4
    if offset > len(message):
        raise DnsFormatError("truncated question")
    records: list[tuple[str, int, bytes | str]] = []
    for _ in range(answers):
        owner, offset = _name(message, offset)
        if offset + 10 > len(message):
            raise DnsFormatError("truncated record")
        rtype, rclass, _, length = struct.unpack_from(">HHIH", message, offset)
        offset += 10
        data = message[offset:offset + length]
        if len(data) != length:
            raise DnsFormatError("record data runs past the message")
        if rclass == CLASS_IN and rtype == TYPE_CNAME:
            target, _ = _name(message, offset)
            records.append((owner, rtype, target))
        elif rclass == CLASS_IN and rtype in (TYPE_A, TYPE_AAAA):
            records.append((owner, rtype, data))
        offset += length
    chain = [asked]
    while True:  # follow the chain (each name once: a CNAME loop ends it)
        found = next((str(value) for owner, rtype, value in records
                      if rtype == TYPE_CNAME and owner == chain[-1]), None)
        if found is None or found in chain:
            break
        chain.append(found)
    addresses: list[str] = []
    for owner, rtype, value in records:
        if owner not in chain or not isinstance(value, bytes):
            continue
        if rtype == TYPE_A and len(value) == 4:
            addresses.append(str(ipaddress.IPv4Address(value)))
        elif rtype == TYPE_AAAA and len(value) == 16:
            addresses.append(str(ipaddress.IPv6Address(value)))
    return Answer(ident, flags & 0xF, tuple(chain), tuple(addresses))
