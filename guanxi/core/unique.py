"""Saving a row whose unique value someone may have taken since it was checked."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model


def save_unless_taken(instance: Model, field: str, message: str) -> None:
    """Save ``instance``, refusing with ``message`` on ``field`` a value another row of its
    table took since the caller's check found it free: the database's unique rule would
    otherwise end the request in a server error, a refusal of its own kind that tells the value
    was just taken. On PostgreSQL the write waits for the other transaction and, once that
    committed, its row is found below; any other integrity error is raised as it is."""
    try:
        with transaction.atomic(using=instance._state.db):
            instance.save()
    except IntegrityError:
        value = getattr(instance, field)
        taken = (
            value
            and type(instance)
            ._default_manager.filter(**{field: value})
            .exclude(pk=instance.pk)
            .exists()
        )
        if taken:
            raise ValidationError({field: [message]}) from None
        raise
