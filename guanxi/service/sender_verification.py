"""Whether an email's sender address is genuine, by the verdict of the mail server that received
it: the Authentication-Results headers (RFC 8601) the organisation's own MX adds.

The From header is whatever the sender typed. What vouches for it is the receiving server's
check of the sender's domain — DMARC, or DKIM and SPF — written into an Authentication-Results
header that starts with the server's *authserv-id*. Anyone can add such headers to the mail
they send, so only those naming an authserv-id the site trusts (``GUANXI_INBOUND_AUTHSERV_ID``)
count, and of them only the topmost run: a receiving server adds its own headers above
everything that came with the email and removes any that name its id already (RFC 8601,
section 5), so what lies further down, below another server's header, may be the sender's.

The sender is verified when:

- DMARC passes for the From domain (``dmarc=pass`` with ``header.from`` naming it; a result
  for another ``header.from`` is someone else's, and a pass naming no domain vouches for
  none, while a failure naming none still counts against the sender). DMARC failing, or an
  error, is the end of it: not verified; so are two DMARC results that differ, since a
  message has one verdict and the other was planted;
- or, with no DMARC result (none given, or ``none`` / ``bestguesspass``: the domain publishes
  no DMARC policy), DKIM passes for a signing domain (``header.d``, else the domain of
  ``header.i``) that is the From domain or a parent of it, or SPF passes for an envelope sender
  (``smtp.mailfrom``) whose domain is the From domain or a parent of it. Simpler than DMARC's
  organisational domains on purpose: ``mail.example.cn`` is vouched for by ``example.cn``, but
  ``example.cn`` is not by ``mail.example.cn``, nor are two sibling subdomains by each other.
  An SPF pass beside another SPF result for an envelope sender, or a DKIM pass beside
  ``dkim=none`` (the message bears no signature), was planted as a differing DMARC result was,
  and does not count.

Headers are parsed with the ``authres`` package (the parser of dkimpy and pyspf). This module
reads no settings and no database, so it is tested on header text alone.
"""

import logging
import re
from collections.abc import Iterable

import authres

logger = logging.getLogger(__name__)

# Longer than any receiving server writes; parsing one costs time in proportion to its length,
# and a header of the sender's naming the trusted id is not to be read anyway.
MAX_HEADER = 16_000
# More headers of the trusted server in a row than any server writes (one for each of its
# checks, a handful at most): such a run was padded by the sender, and reading it costs time in
# proportion to its length, so it verifies nothing.
MAX_RUN = 10
# Results meaning the domain publishes no DMARC policy (OpenDMARC reports "bestguesspass"
# then): as if DMARC had not been checked, so DKIM and SPF decide.
NO_DMARC_POLICY = frozenset({"none", "bestguesspass"})
# The authserv-id: the first word, after any comments.
_AUTHSERV_ID = re.compile(r"\s*(?:\([^()]*\)\s*)*([^\s;()]+)")
_FOLD = re.compile(r"\r?\n")


def authserv_id(value: str) -> str:
    """The authserv-id a header value starts with, lower-cased; "" when none is seen."""
    found = _AUTHSERV_ID.match(value)
    return found.group(1).lower().rstrip(".") if found else ""


def trusted_results(values: Iterable[str], trusted: Iterable[str]) -> list | None:
    """The results (``authres`` result objects) of the topmost run of Authentication-Results
    headers naming a trusted authserv-id, ``values`` being the headers' values from the top of
    the email down; None when there is no such header. A header of the run that does not parse
    gives no result: unreadable is not passing."""
    trusted = {t.strip().lower().rstrip(".") for t in trusted if t.strip()}
    results: list | None = None
    for value in values:
        value = _FOLD.sub("", str(value))
        if authserv_id(value) not in trusted:
            if results is not None:
                break  # the run ended
            continue
        if results is None:
            results = []
            read = 0
        read += 1
        if read > MAX_RUN:
            logger.info("Authentication-Results: more than %d headers of a trusted id", MAX_RUN)
            return []
        if len(value) > MAX_HEADER:
            continue
        try:
            # Some servers end the header with a ";", which the grammar does not allow.
            header = authres.AuthenticationResultsHeader.parse_value(value.strip().rstrip(";"))
        except Exception as error:  # authres.SyntaxError; RecursionError for nested comments
            logger.info("Authentication-Results header not read: %s: %.200r", error, value)
            continue
        if (header.authserv_id or "").lower().rstrip(".") in trusted:
            results.extend(header.results)
    return results


def sender_verified(values: Iterable[str], *, sender: str, trusted: Iterable[str]) -> bool:
    """Whether the trusted Authentication-Results headers among ``values`` (from the top of the
    email down) vouch for the From address ``sender``; see the module's docstring."""
    domain = _domain(sender.rpartition("@")[2])
    results = trusted_results(values, trusted)
    if not domain or not results:
        return False
    dmarc = set()
    for r in results:
        if _method(r) != "dmarc":
            continue
        checked = _property(r, "header", "from")
        if checked:
            if _domain(checked) == domain:
                dmarc.add(_result(r))
        elif _result(r) not in {"pass", *NO_DMARC_POLICY}:
            # A result naming no From domain may be about any message's; only a verdict against
            # the sender is taken from it (a failure), never one for them.
            dmarc.add(_result(r))
    if dmarc - NO_DMARC_POLICY:
        # A message has one DMARC verdict. Two that differ mean a planted header beside the
        # server's own (a server that did not remove headers of its id): a "pass" next to its
        # "fail" or its "none" is the sender's word, not the server's.
        return dmarc == {"pass"}
    # For the same reason a pass beside a result it contradicts was planted: a message has one
    # SPF verdict for its one envelope sender, and "dkim=none" says it bears no signature.
    spf = {_result(r) for r in results if _method(r) == "spf" and _property(r, "smtp", "mailfrom")}
    contradicted = {
        "spf": len(spf) > 1,
        "dkim": "none" in {_result(r) for r in results if _method(r) == "dkim"},
    }
    for r in results:
        if _result(r) != "pass" or contradicted.get(_method(r)):
            continue
        if _method(r) == "dkim":
            signer = _property(r, "header", "d") or _property(r, "header", "i").rpartition("@")[2]
        elif _method(r) == "spf":
            mailfrom = _property(r, "smtp", "mailfrom")
            signer = mailfrom.rpartition("@")[2] if mailfrom else ""
        else:
            continue
        if _aligned(domain, _domain(signer)):
            return True
    return False


def _aligned(sender_domain: str, domain: str) -> bool:
    """The sender's domain is ``domain`` or below it (never a bare top-level domain)."""
    return "." in domain and (sender_domain == domain or sender_domain.endswith("." + domain))


def _domain(text: str) -> str:
    """A domain to compare: lower case, without a final dot, in its ASCII form (a From of
    例子.中国 is signed as xn--fsqu00a.xn--fiqs8s)."""
    text = text.strip().strip('"').lower().rstrip(".")
    try:
        return text.encode("idna").decode("ascii")
    except UnicodeError:
        return text


def _method(result) -> str:
    return (result.method or "").lower()


def _result(result) -> str:
    return (result.result or "").lower()


def _property(result, ptype: str, name: str) -> str:
    for found in result.properties:
        if (found.type or "").lower() == ptype and (found.name or "").lower() == name:
            return str(found.value or "")
    return ""
