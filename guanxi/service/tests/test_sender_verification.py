"""Reading the receiving mail server's verdict on a sender: Authentication-Results headers as
real servers write them (OpenDKIM and OpenDMARC, rspamd, Gmail), and as a forger would."""

import pytest

from guanxi.service.sender_verification import authserv_id, sender_verified, trusted_results

MX = "mx.guanxi.example"
SENDER = "wangfang@example.cn"


def verified(*values: str, sender: str = SENDER, trusted=(MX,)) -> bool:
    return sender_verified(list(values), sender=sender, trusted=trusted)


def test_dmarc_pass_verifies_and_dmarc_fail_does_not_whatever_dkim_and_spf_say():
    assert verified(f"{MX}; dmarc=pass (p=reject dis=none) header.from=example.cn")
    assert not verified(
        f"{MX}; dkim=pass header.d=example.cn; spf=pass smtp.mailfrom={SENDER}; "
        "dmarc=fail (p=reject dis=none) header.from=example.cn"
    )
    assert not verified(f"{MX}; dmarc=temperror header.from=example.cn")
    # A planted "pass" next to the server's own "fail" (a server that did not remove it).
    assert not verified(
        f"{MX}; dmarc=fail header.from=example.cn", f"{MX}; dmarc=pass header.from=example.cn"
    )
    assert not verified(
        f"{MX}; dmarc=pass header.from=example.cn", f"{MX}; dmarc=fail header.from=example.cn"
    )
    # A planted "pass" beside the server's finding that the domain has no DMARC policy.
    assert not verified(
        f"{MX}; dmarc=none header.from=example.cn; dkim=fail header.d=example.cn",
        f"{MX}; dmarc=pass header.from=example.cn",
    )


def test_a_planted_dkim_or_spf_pass_contradicting_the_servers_own_result_counts_for_nothing():
    # The server found no DMARC policy, no signature and a failing SPF check; a header of its id
    # that it did not remove says otherwise.
    ours = f"{MX}; dmarc=none header.from=example.cn; dkim=none; spf=fail smtp.mailfrom={SENDER}"
    assert not verified(ours, f"{MX}; dkim=pass header.d=example.cn")
    assert not verified(ours, f"{MX}; spf=pass smtp.mailfrom={SENDER}")
    assert not verified(f"{MX}; spf=pass smtp.mailfrom={SENDER}", ours)
    # Not contradicted: a passing signature beside a failing SPF check, or an SPF check of the
    # greeting (HELO) beside that of the envelope sender.
    assert verified(f"{MX}; spf=fail smtp.mailfrom={SENDER}; dkim=pass header.d=example.cn")
    assert verified(
        f"{MX}; spf=none smtp.helo=mail.example.cn", f"{MX}; spf=pass smtp.mailfrom={SENDER}"
    )


def test_a_dmarc_result_for_another_from_domain_is_not_this_senders():
    assert not verified(f"{MX}; dmarc=pass header.from=other.example.com")


def test_a_dmarc_pass_naming_no_from_domain_vouches_for_nobody_but_a_failure_still_counts():
    assert not verified(f"{MX}; dmarc=pass")
    assert not verified(f"{MX}; dmarc=pass (p=reject dis=none)")
    # DKIM or SPF may still vouch, as with no DMARC result at all ...
    assert verified(f"{MX}; dmarc=pass; dkim=pass header.d=example.cn")
    # ... but not past a failure, which needs no domain to count against the sender.
    assert not verified(f"{MX}; dmarc=fail; dkim=pass header.d=example.cn")
    assert verified(f"{MX}; dmarc=pass header.from=example.cn; dkim=fail header.d=example.cn")


@pytest.mark.parametrize("policy", ["none", "bestguesspass"])
def test_without_a_dmarc_policy_dkim_or_spf_decide(policy):
    dmarc = f"dmarc={policy} header.from=example.cn"
    assert verified(f"{MX}; dkim=pass header.d=example.cn; {dmarc}")
    assert verified(f"{MX}; spf=pass smtp.mailfrom={SENDER}; {dmarc}")
    assert not verified(
        f"{MX}; dkim=fail header.d=example.cn; spf=softfail smtp.mailfrom=x@example.cn; {dmarc}"
    )


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ("dkim=pass header.d=example.cn", True),
        ("dkim=pass header.i=@example.cn", True),  # no header.d: the domain of header.i
        ("dkim=pass header.d=mail.example.cn", False),  # a subdomain does not vouch for its parent
        ("dkim=pass header.d=evil.example", False),
        ("dkim=pass header.d=cn", False),  # never a bare top-level domain
        ("dkim=pass header.d=xample.cn", False),  # a suffix, not a parent
        ("dkim=fail header.d=example.cn", False),
        ("spf=pass smtp.mailfrom=bounce@example.cn", True),
        ("spf=pass smtp.mailfrom=example.cn", True),  # a bare domain (an empty envelope sender)
        ("spf=pass smtp.mailfrom=bounce@mailer.example", False),
        ("spf=pass smtp.helo=mail.example.cn", False),  # the HELO name is not the sender
        ("spf=neutral smtp.mailfrom=bounce@example.cn", False),
        ("iprev=pass policy.iprev=192.0.2.1", False),
        ("none", False),
    ],
)
def test_dkim_and_spf_count_for_the_from_domain_or_a_parent_of_it(result, expected):
    assert verified(f"{MX}; {result}") is expected


def test_a_sender_in_a_subdomain_is_vouched_for_by_its_parent():
    assert verified(f"{MX}; dkim=pass header.d=example.cn", sender="li@bj.example.cn")
    assert verified(f"{MX}; spf=pass smtp.mailfrom=example.cn", sender="li@bj.example.cn")


def test_headers_of_other_servers_are_ignored_however_they_pass():
    forged = "attacker.example; dmarc=pass header.from=example.cn"
    assert not verified(forged)
    assert not verified(forged, f"{MX}; dmarc=fail header.from=example.cn")
    assert trusted_results([forged], [MX]) is None


def test_only_the_topmost_run_of_trusted_headers_counts():
    # The site's server adds its headers on top; a header naming its id further down, below
    # another server's, came with the email.
    ours = f"{MX}; dmarc=fail header.from=example.cn"
    relay = "relay.example.net; spf=pass smtp.mailfrom=example.cn"
    planted = f"{MX}; dmarc=pass header.from=example.cn"
    assert not verified(ours, relay, planted)
    # Several headers of the server in a row (one per milter) are read together.
    assert verified(
        f"{MX}; spf=fail smtp.mailfrom={SENDER}", f"{MX}; dkim=pass header.d=example.cn"
    )
    # Another server's headers above ours (an internal hop after it) do not end the search.
    assert verified(relay, f"{MX}; dmarc=pass header.from=example.cn")


def test_real_headers_with_comments_folding_case_and_several_results():
    opendkim = (
        f"{MX};\r\n\tdkim=pass (2048-bit key; unprotected) header.d=example.cn "
        'header.i=@example.cn header.a=rsa-sha256 header.s=s1 header.b="AbC+/=d"'
    )
    opendmarc = f"{MX}; dmarc=pass (p=none dis=none) header.from=example.cn"
    assert verified(opendkim, opendmarc)
    gmail = (
        f"{MX};\r\n       dkim=pass header.i=@example.cn header.s=20230601 header.b=XyZ;\r\n"
        "       spf=pass (mx: domain of wangfang@example.cn designates 192.0.2.1 as permitted "
        "sender) smtp.mailfrom=wangfang@example.cn;\r\n"
        "       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.cn"
    )
    assert verified(gmail)
    # Upper case, a version, a comment before the id, a quoted address, a final semicolon.
    assert verified("(our server) MX.Guanxi.Example 1; DMARC=Pass header.from=Example.CN;")
    assert verified(f'{MX}; spf=pass smtp.mailfrom="wangfang@example.cn"')
    # The trusted id is compared without regard to case or a final dot.
    assert verified(f"{MX}; dmarc=pass header.from=example.cn", trusted=["MX.GUANXI.EXAMPLE."])
    # Several results: one failing DKIM signature beside a passing aligned one.
    assert verified(
        f"{MX}; dkim=fail header.d=example.cn; dkim=pass header.d=example.cn; "
        "dkim=pass header.d=mailer.example"
    )


def test_an_internationalised_domain_is_compared_in_its_ascii_form():
    assert verified(f"{MX}; dkim=pass header.d=xn--fsqu00a.xn--fiqs8s", sender="li@例子.中国")


@pytest.mark.parametrize(
    "value",
    [
        "",
        f"{MX}",
        f"{MX}; dmarc",
        f"{MX}; dmarc=pass (unclosed comment",
        f"{MX}; dkim=pass " + "(" * 5000 + ")" * 5000,
        f"{MX}; " + "; ".join(["dkim=pass header.d=example.cn"] * 1000),  # beyond the length read
    ],
)
def test_a_header_that_cannot_be_read_vouches_for_nothing(value):
    assert not verified(value)


def test_nothing_is_verified_without_a_trusted_id_or_a_sender():
    assert not verified(f"{MX}; dmarc=pass header.from=example.cn", trusted=())
    assert not verified(f"{MX}; dmarc=pass header.from=example.cn", sender="")
    assert not verified()


def test_authserv_id_is_the_first_word_after_any_comment():
    assert authserv_id(" (c) Mx.Example.COM. 1; none") == "mx.example.com"
    assert authserv_id(";") == ""


def test_a_run_of_more_trusted_headers_than_any_server_writes_verifies_nothing():
    passing = f"{MX}; dmarc=pass header.from=example.cn"
    assert verified(*[passing] * 10)
    assert not verified(*[passing] * 11)
