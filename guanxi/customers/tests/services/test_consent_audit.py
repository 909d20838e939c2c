"""Marketing consent keeps its earlier states in the audit history: what was recorded as
evidence is part of the consent, so a change of it alone is a change with a before and after."""

from guanxi.audit.models import AuditEvent
from guanxi.customers.services import customer_create, customer_update


def _consent(evidence: str) -> dict:
    return {
        "channel": "email",
        "granted": True,
        "method": "written",
        "evidence": evidence,
        "recorded_at": "2026-03-02T10:00:00+08:00",
    }


def _recorded_again(company, evidence: str, then: str) -> AuditEvent:
    """The audit row of a customer's consent recorded with ``evidence``, then with ``then``."""
    customer = customer_create(
        actor=company.rep, data={"name": "王芳", "consents": [_consent(evidence)]}
    )
    customer_update(
        actor=company.rep,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"consents": [_consent(then)]},
    )
    return AuditEvent.objects.get(customer_id=customer.pk, action=AuditEvent.Action.UPDATE)


def test_changing_only_the_evidence_of_a_consent_records_before_and_after(company):
    event = _recorded_again(company, "Form 17, signed", "Form 18, signed")
    change = event.changes["consents"]
    assert "Form 17, signed" in change["before"]["email"]
    assert "Form 18, signed" in change["after"]["email"]


def test_a_consent_recorded_again_unchanged_records_no_change(company):
    event = _recorded_again(company, "Form 17, signed", "Form 17, signed")
    assert "consents" not in event.changes
