from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.service.forms import category_choices

from .models import Article
from .selectors import MAX_TEXT


class ArticleForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    problem = forms.CharField(
        label=_("Problem"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=MAX_TEXT,
        help_text=_("What the customer met, in words the next customer would use."),
    )
    cause = forms.CharField(
        label=_("Cause"), widget=forms.Textarea(attrs={"rows": 3}), max_length=MAX_TEXT,
        required=False,
    )  # fmt: skip
    solution = forms.CharField(
        label=_("Solution"), widget=forms.Textarea(attrs={"rows": 6}), max_length=MAX_TEXT
    )
    category_id = forms.TypedChoiceField(
        label=_("Category"), coerce=int, empty_value=None, required=False
    )
    is_published = forms.BooleanField(
        label=_("Published (everyone can read it)"), required=False, initial=True
    )

    def __init__(self, *args, article: Article | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = category_choices()
        # A retired category is no longer offered, but an article that has one keeps it.
        offered = {value for value, _label in choices}
        if article is not None and article.category_id and str(article.category_id) not in offered:
            choices.append((str(article.category_id), article.category.label))
        self.fields["category_id"].choices = choices

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.fields if name != "version"}


class ArticleEditForm(ArticleForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ArticleFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    category_id = forms.TypedChoiceField(
        label=_("Category"), coerce=int, empty_value=None, required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category_id"].choices = category_choices(str(_("Any category")))
