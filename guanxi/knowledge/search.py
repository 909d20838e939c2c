"""Finding articles by what people type, and comparing texts to find similar cases.

Articles carry ``search_text`` built with the customer search's token rules (see
``guanxi.customers.search``): every suffix of a run of Han characters with its pinyin and
initials, every pair of Han characters, and folded Latin words. Tickets carry the same kind of
tokens for their subject and description. Two things are done with them here:

* **Search** (the knowledge base's search box): every term of ``parse_query`` must be the prefix
  of some token, so 款迟 finds 退款迟迟不到账, ``tuikuan`` finds 退款 and ``refu`` finds refund.
  The test is a plain ``LIKE`` on the tokens with a space before each, which PostgreSQL and
  SQLite run the same way. That is a scan of the table, on purpose: the knowledge base holds
  thousands of articles, not the million customers the customer search's index is built for, and
  scanning a few thousand short token lists takes milliseconds.
* **Similarity** (suggestions while a ticket is written): a text's *features* are its tokens
  without the ones that say nothing (a single character, a two-letter fragment, a handful of
  English function words), and two texts are as similar as the overlap of their feature sets
  (the cosine of the two sets). The candidates are found first by a few *probe* tokens of the
  text — its pairs of Han characters and its Latin words — and only they are scored in Python.
  Articles are scanned for the probes like the search box scans them; past tickets, which grow
  into the hundreds of thousands, are first looked up in a GIN index on PostgreSQL
  (:class:`HoldsAnyToken`), and only those holding a probe are counted.
"""

import math
import re
from collections.abc import Iterable

from django.db.models import BooleanField, Expression, F, Q, TextField, Value
from django.db.models.functions import Concat

from guanxi.customers.search import (
    POSTGRES_DOCUMENT,
    is_exact_word,
    normalise,
    parse_query,
    quoted_lexeme,
    text_tokens,
)

# Each text field contributes at most this much to the tokens (the customer search caps a
# ticket's description the same way), so one very long article cannot grow without bound.
MAX_INDEXED_CHARS = 4000
# How many probe tokens look for candidates: enough to reach a similar case through words the
# agent typed anywhere, few enough to keep the candidate query short.
MAX_PROBES = 16
# Words too common to tell cases apart.
# fmt: off
STOP_WORDS = frozenset({
    "the", "and", "for", "are", "was", "were", "has", "have", "had", "not", "but", "with", "this",
    "that", "from", "you", "your", "our", "they", "their", "there", "what", "when", "which",
    "will", "would", "can", "could", "should", "been", "being", "into", "than", "then", "them",
    "its", "also", "just", "very", "any", "all", "out",
})
# fmt: on
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z0-9]{3,}")

# The annotation the token tests below are made against: the tokens with a space on each side,
# so " tok" is the start of a token and " tok " a whole one, wherever it stands.
TOKENS = "knowledge_tokens"


def build_search_text(*texts: str) -> str:
    """The tokens of some texts, space-separated, by the rule a ticket's text is tokenised with
    (``customers.search.text_tokens``), each text cut to :data:`MAX_INDEXED_CHARS`."""
    return text_tokens(*((text or "")[:MAX_INDEXED_CHARS] for text in texts))


def with_tokens(queryset):
    """``queryset`` annotated with the padded tokens the tests below read."""
    padded = Concat(Value(" "), F("search_text"), Value(" "), output_field=TextField())
    return queryset.annotate(**{TOKENS: padded})


def query_matches(query: str) -> Q | None:
    """Rows (annotated by :func:`with_tokens`) whose tokens match every term of ``query``; None
    when the query has nothing searchable in it."""
    terms = parse_query(query)
    if not terms:
        return None
    condition = Q()
    for term in terms:
        alternatives = Q()
        for text in term:
            alternatives |= Q(**{f"{TOKENS}__contains": f" {text}"})
        condition &= alternatives
    return condition


def has_token(token: str) -> Q:
    """Rows (annotated by :func:`with_tokens`) holding ``token`` as a whole token."""
    return Q(**{f"{TOKENS}__contains": f" {token} "})


def postgres_any_token(tokens: Iterable[str]) -> str:
    """``'a' | 'b' | …``: a tsquery matching a document that holds any of ``tokens`` whole (no
    prefixes), each a quoted lexeme as ``customers.search.postgres_tsquery`` quotes them, so
    nothing in a token is parsed."""
    return " | ".join(quoted_lexeme(token, prefix=False) for token in tokens)


class HoldsAnyToken(Expression):
    """True for rows holding at least one of ``tokens`` as a whole token: the rows
    :func:`has_token` finds for any of them, answered on PostgreSQL from a GIN index on the
    tokens (the tickets' one: ``service/migrations/0005_ticket_search_index``). Elsewhere it is
    true of every row."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, tokens: Iterable[str]):
        super().__init__()
        self.tokens = tuple(tokens)
        self.text = F("search_text")

    def get_source_expressions(self):
        return [self.text]

    def set_source_expressions(self, exprs):
        (self.text,) = exprs

    def as_sql(self, compiler, connection):
        # No token index elsewhere (SQLite, the demo's few tickets): every row stays a
        # candidate, and the hit count that follows decides.
        return "1 = 1", []

    def as_postgresql(self, compiler, connection):
        text_sql, text_params = compiler.compile(self.text)
        sql = f"{POSTGRES_DOCUMENT.format(text_sql)} @@ %s::tsquery"
        return sql, [*text_params, postgres_any_token(self.tokens)]


def _is_feature(token: str) -> bool:
    if _HAN.search(token):
        return len(token) >= 2
    return len(token) >= 3 and token not in STOP_WORDS


def features(search_text: str) -> frozenset[str]:
    """The tokens of a search text that say something about its content."""
    return frozenset(token for token in search_text.split() if _is_feature(token))


def probe_tokens(
    text: str, search_text: str | None = None, *, limit: int = MAX_PROBES
) -> list[str]:
    """Tokens a similar case is likely to share with ``text``, in the order they occur: its
    pairs of Han characters and its Latin words (not the long suffixes, pinyin and initials,
    which another text shares only when it says the very same thing). ``search_text`` is the
    text's tokens when the caller has them already (as :func:`build_search_text` makes them),
    so the text is not tokenised twice; the text itself is still read to tell its Latin words
    from pinyin tokens, which look alike."""
    if search_text is None:
        search_text = build_search_text(text)
    words = set(_LATIN_WORD.findall(normalise((text or "")[:MAX_INDEXED_CHARS]))) - STOP_WORDS
    probes = [token for token in search_text.split() if is_exact_word(token) or token in words]
    return probes[:limit]


def similarity(left: Iterable[str], right: Iterable[str]) -> float:
    """How alike two feature sets are: 0 (nothing shared) to 1 (the same), the cosine of the
    two sets, so a long text does not win just by holding more words."""
    left, right = frozenset(left), frozenset(right)
    if not left or not right:
        return 0.0
    return len(left & right) / math.sqrt(len(left) * len(right))
