"""The knowledge base: what the service desk learnt, written down once so that the next agent
who meets the same problem finds the answer instead of working it out again."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Article(models.Model):
    """A known problem, its cause and its solution, often written from a resolved ticket.

    Articles are company knowledge, not customer records: every signed-in user reads the
    published ones, whoever the customer was. An unpublished article is a draft that only its
    author and administrators see. ``search_text`` holds the tokens the knowledge base's search
    and the similar-case suggestions work on (see ``knowledge.search``); ``version`` goes up with
    every change, so an edit based on an older version is refused instead of overwriting
    someone else's."""

    title = models.CharField(_("title"), max_length=200)
    problem = models.TextField(_("problem"))
    cause = models.TextField(_("cause"), blank=True)
    solution = models.TextField(_("solution"))
    category = models.ForeignKey(
        "service.TicketCategory",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="articles",
        verbose_name=_("category"),
    )
    # The ticket the article was written from; the article outlives it.
    source_ticket = models.ForeignKey(
        "service.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="articles",
        verbose_name=_("written from ticket"),
    )
    is_published = models.BooleanField(_("published"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("written by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    search_text = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")

    def __str__(self) -> str:
        return self.title
