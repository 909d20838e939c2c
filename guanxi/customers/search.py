"""Customer search: the token document each customer carries, and how a query is matched to it.

A customer's ``search_text`` is a space-separated set of *tokens*, and a query matches when every
one of its words is a **prefix** of some token (numbers of four or more digits: see phones; two
Han characters: see pairs). The
tokens are chosen so that this is all the database has to do, which both PostgreSQL (a GIN index
over the tokens as a ``tsvector``) and SQLite (an FTS5 table) answer from an index:

* Han characters: every suffix of a run (张伟明 -> 张伟明, 伟明, 明), so any fragment of a name is
  the prefix of one of them; the full pinyin of each suffix (zhangweiming, weiming, ming), so
  pinyin typed with or without spaces matches — for a person whose surname reads differently
  from the character's everyday reading, also the name's pinyin with the surname reading
  (曾伟: zengwei as well as cengwei); the initials of the run (zwm); and each pair of
  characters (张伟) — with its pinyin (zhangwei) for a customer's own name and tags — so that a
  query of two Han characters, the commonest kind, is looked up as a whole token instead of as
  the prefix of thousands of suffixes (see ``add_han_pairs``).
* Latin letters and digits: each word, and for words joined by ``. @ _ + -`` also their pieces;
  for the customer's own name also all its Latin words run together ("Zhang Wei" -> zhangwei),
  which is how people type a pinyin name. Words joined by apostrophes also run together
  (O'Brien -> o, brien, obrien). Names, companies and tags with letters that keyboards lack are
  also indexed as written without them (Müller -> mueller, Søren -> soren, soeren: see
  ``other_spellings``); folding alone gives muller.
* External ids: as any other text, and their runs of letters and digits run together from
  each part on (ERP-2024-0001 -> erp20240001, 20240001), so the parts may be typed with any
  separator or none.
* Phone numbers: the digits of the E.164 number without "+" and every run of four consecutive
  digits in it. Four digits (the last four, say) are then a token; a longer fragment (the
  national number, 138-1234…) matches when all its four-digit runs are tokens and the fragment
  itself occurs in the search text — the index finds the few candidates, and a substring test
  on just those confirms the digits are consecutive. Four digits are looked up as a whole
  token, not as a prefix: every document also holds the first four digits of each of its
  longer tokens that starts with four (an email 61501234@qq.com, an external id 2024-0001),
  which a prefix would have found.
  A fragment typed in national format with its area code (021-6234, 0755) is looked for with
  the country code in place of its leading 0, as the start of the whole number's digits.
  For whoever sees phone numbers masked, digits find a phone only where the mask shows them or
  as the whole number (``customers.masked_phone_search``). So that the index answers that too,
  a customer's document ends with *marks*: each token of a field other than the phones that
  starts with digits again, after ``#`` (#2024 of an id ERP-2024-0001), and what the mask
  shows of each phone, after ``~l`` (its last four digits), ``~s`` (its country code and the
  first digits shown) and ``~w`` (the whole number). Both characters separate words in every
  text and every query (see ``_Separators``), so no field can hold a mark and no query typed
  can ask for one; only the masked search's own lookups do. The marks are left out of the
  tokens of tickets and articles (``text_tokens``), which no mask concerns.

  (Indexing every suffix of four or more digits instead, so that any fragment is a prefix, was
  the first design. On a million customers that is ten distinct index entries per phone number:
  three quarters of a 760 MB index that took three minutes to build. Runs of four digits are at
  most 10,000 distinct entries; the phone part of the index became a fifth of its size and
  builds five times faster.)
* A person's organisation: the tokens its name gives as a company name, less those the
  person's own fields also give, are marks after ``~o`` (``~o华瑞``), and those starting with
  digits also after ``~o#`` unless another field's ``#`` mark holds them, as the digits of any
  other field are marked (``SearchTokens.add_organisation``). A query asks for each of its
  texts among them too (``with_organisation_marks``), and a person found only through them is
  kept only for whoever may see the organisation (``customers.selectors.search_matches``): to
  the others, a search for the name of an organisation out of their sight would say which of
  the people they see belong to it, which no page tells them.
* Email addresses: the address, its local part, its domain, the pieces of the local part and
  the local part from each piece on (li.wei_88 -> wei_88), the domain from each label or
  hyphenated word on (pacific-rim.com -> rim.com) unless that is a registry suffix (com.cn).

On the query side (``parse_query``), a hyphenated word is looked for word by word (Pacific-Rim
finds Pacific Rim), a word of letters and digits with punctuation also run together
(ERP.2024.0001), the later words of an O'Brien also run together (so OBrien is found too),
pinyin with tone numbers without them (zhang1wei3), and a query typed with ü, ø … also in the
spellings without them. Only what relies on the tokens new above (obrien, mueller, wei_88,
rim.com, erp20240001) needed customers stored before to be given them (migration ``0005``;
tickets and articles, whose tokens ``text_tokens`` makes, got theirs from service ``0009`` and
knowledge ``0002``).

Everything is folded (case, width, accents) and traditional characters become simplified ones,
on both sides, so 張偉 finds 张伟 and the other way round.

The two databases must see exactly the same tokens. PostgreSQL takes them verbatim
(``array_to_tsvector``); SQLite's FTS5 tokenizer splits on ASCII characters other than letters,
digits and ``. @ _ + -``. So tokens and query words are built here from "word characters" only
(letters, digits, marks, private-use characters and those five), which both agree on.
"""

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import islice, product

from django.db import DEFAULT_DB_ALIAS, NotSupportedError, connections
from django.db.models import BooleanField, Expression, F

from guanxi.core.masking import shown_digits
from guanxi.core.text import (
    CHINESE_LEGAL_FORMS,
    LATIN_LEGAL_FORMS,
    PLAIN_LATIN_LETTERS,
    SURNAME_READINGS,
    digits_only,
    fold,
    han_pinyin,
    simplified_forms,
    to_simplified,
)

# Longest token kept, and longest fragment of a Han run indexed from each position. Queries are
# cut the same way, so "a prefix of a token" survives the cut on both sides; without a cap a
# long name would make its document grow with the square of its length.
MAX_TOKEN = 64
HAN_WINDOW = 16
# A query with more words than this is not a search anyone means; the rest are ignored.
MAX_QUERY_TERMS = 12
# Most forms a Han run of a query is looked for in (see ``_han_term``).
MAX_HAN_FORMS = 8
# Phone numbers are indexed as runs of this many digits (see the module's docstring).
PHONE_RUN = 4
# The SQLite FTS5 table over ``customers_customer.search_text`` (made by migration 0002; its
# tokenizer keeps the marks' characters inside tokens since migration 0013).
SQLITE_TABLE = "customers_customer_search"
# The marks a customer's document ends with (see the module's docstring).
FIELD_DIGITS_MARK = "#"
LAST_DIGITS_MARK = "~l"
SHOWN_START_MARK = "~s"
WHOLE_NUMBER_MARK = "~w"
ORGANISATION_MARK = "~o"
PHONE_MARKS = (LAST_DIGITS_MARK, SHOWN_START_MARK, WHOLE_NUMBER_MARK)
_ASCII_DIGITS = frozenset("0123456789")

_PUNCTUATION = ".@_+-"  # kept inside tokens (emails, ERP-0001, jean-luc), trimmed at their ends
_PIECES = re.compile(r"[.@_+\-]+")
_LOCAL_PIECES = re.compile(r"[._+\-]+")
_HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # as guanxi.core.text recognises Han
_HAN_RUNS = re.compile(f"[{_HAN_CLASS}]+|[^{_HAN_CLASS}]+")
_HAN = re.compile(f"[{_HAN_CLASS}]")
_HAN_PAIR = re.compile(f"[{_HAN_CLASS}]{{2}}")
_HAN_ONLY_RUNS = re.compile(f"[{_HAN_CLASS}]{{2,}}")
_PINYIN_U = re.compile(r"(?<=[ln])y?u(?![ao])")
_NUMERIC = re.compile(r"[\d+\-.()/]+")  # how people write phone numbers: +86 (021) 6234-5678
# Latin words joined by apostrophes (O'Brien, O’Brien, d'Angelo), which are also stored run
# together; the apostrophes themselves are separators everywhere else.
_APOSTROPHES = re.compile("['\u2018\u2019\u02bc]")
_LETTER = rf"(?:(?![{_HAN_CLASS}])[^\W\d_])"
# Tried only where a run of letters starts, which is where every match starts anyway: tried
# from each letter of a run, as it was, a word of 100,000 letters pasted into a search or an
# organisation box took minutes, the time growing with the square of the word's length.
_APOSTROPHE_WORDS = re.compile(f"(?<!{_LETTER}){_LETTER}+(?:{_APOSTROPHES.pattern}{_LETTER}+)+")
# An external id's runs of letters and of digits: ERP-2024-0001 -> erp, 2024, 0001.
_ID_PIECES = re.compile(r"\d+|[^\W\d_]+")
# Most tails stored of an external id, an email's local part or its domain (see
# add_external_id, _add_address): enough for any real one, and a document stays small
# whatever is typed into those fields (a.b.c.d… would otherwise give a tail for every letter).
MAX_TAILS = 8
# Labels that start a domain's registry suffix (com.cn, co.uk): a tail of a domain starting with
# one would be a token of nearly every customer and is not stored (see _add_address).
_REGISTRY_LABELS = frozenset(
    ["ac", "co", "com", "edu", "gov", "ltd", "mil", "ne", "net", "or", "org"]
)
# Pinyin typed with tone numbers (zhang1wei3): syllables each followed by a digit 0-5.
_TONED_SYLLABLES = re.compile(r"([a-z]+)([0-5])")

# Letters that folding leaves as they are (ø, æ, ł…) or takes to a bare vowel (ä -> a), and how
# they are written on a keyboard without them: plainly (Søren as soren: PLAIN_LATIN_LETTERS),
# and spelled out as German and the Nordic languages do (Müller as mueller, Åsa as aasa, this
# table). See other_spellings.
_SPELLED_LETTERS = str.maketrans(
    {
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "ø": "oe",
        "å": "aa",
        "æ": "ae",
        "œ": "oe",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
    }
)
_SPELLABLE = re.compile("[äöüøåæœłđðþ]")


class _Separators(dict):
    """``str.translate`` table turning every character that is not a word character into a
    space, worked out per character on first sight."""

    def __missing__(self, code: int):
        char = chr(code)
        category = unicodedata.category(char)
        keep = category[0] in "LNM" or category == "Co" or char in _PUNCTUATION
        value = code if keep else " "
        self[code] = value
        return value


_SEPARATORS = _Separators()


def normalise(text: str) -> str:
    """Folded and simplified: 'Ｚｈāng 張偉' -> 'zhang 张伟'. Folding comes first because NFKC
    turns compatibility ideographs into the ones OpenCC's tables know."""
    return to_simplified(fold(text))


def other_spellings(text: str) -> list[str]:
    """``text`` normalised as it is also written without its letters that keyboards lack, where
    that differs from :func:`normalise`: 'Müller' -> ['mueller'], 'Søren' -> ['soren',
    'soeren'], 'Zhang' -> [].

    Folding alone finds Müller by muller, but not by mueller, how German writes it without
    the umlaut, nor Søren by soren: ø is a letter of its own that folding keeps. Both sides
    use this: a customer's name, company and tags are stored in these spellings too, and a
    query typed with the letters is looked for in them as well, so that Müller finds a
    customer saved as Mueller. Not the other way round from the query: mueller is not read
    as müller, since ue is as often just u and e (Samuel, and the pinyin xue, yue)."""
    if text.isascii():
        return []
    lowered = unicodedata.normalize("NFKC", text).lower()
    if not _SPELLABLE.search(lowered):
        return []
    as_is = normalise(text)
    forms = (
        normalise(lowered.translate(table)) for table in (PLAIN_LATIN_LETTERS, _SPELLED_LETTERS)
    )
    return [form for form in dict.fromkeys(forms) if form != as_is]


def _chunks(text: str) -> list[str]:
    """Runs of word characters with punctuation trimmed from their ends."""
    chunks = []
    for chunk in text.translate(_SEPARATORS).split():
        chunk = chunk.strip(_PUNCTUATION)
        if chunk:
            chunks.append(chunk)
    return chunks


@lru_cache(maxsize=8192)
def han_syllables(run: str) -> tuple[str, ...]:
    """The pinyin of each character of a Han run, read as a whole (so 重庆 is chong qing); an
    empty string for a character pypinyin does not know."""
    syllables = han_pinyin(run)
    if len(syllables) != len(run):  # pypinyin grouped something unexpectedly; go one by one
        syllables = [(han_pinyin(char) or ("",))[0] for char in run]
    return tuple(s if s.isascii() else fold(s) for s in syllables)


_HAN_RUN = re.compile(f"[{_HAN_CLASS}]+")


class SearchTokens:
    """An ordered set of search tokens being collected for one customer, and the marks that say
    where its digits may be found by whoever sees phone numbers masked (see the module's
    docstring): ``field_digits`` for the tokens of fields other than the phones that start
    with digits, ``phone_shown`` for what the mask shows of the phones."""

    __slots__ = ("field_digits", "organisation", "phone_shown", "tokens")

    def __init__(self) -> None:
        self.tokens: dict[str, None] = {}
        self.field_digits: dict[str, None] = {}
        self.phone_shown: dict[str, None] = {}
        self.organisation: dict[str, None] = {}

    def add(self, token: str) -> None:
        """A token of any field but the phones (:meth:`add_phone`)."""
        if token:
            token = token[:MAX_TOKEN]
            self.tokens[token] = None
            if token[0] in _ASCII_DIGITS:
                self.field_digits[(FIELD_DIGITS_MARK + token)[:MAX_TOKEN]] = None

    def update(self, tokens: Iterable[str]) -> None:
        """Tokens of fields other than the phones made by another :class:`SearchTokens`
        (already cut and never empty)."""
        tokens = list(tokens)
        self.tokens.update(dict.fromkeys(tokens))
        self.field_digits.update(
            dict.fromkeys(
                (FIELD_DIGITS_MARK + token)[:MAX_TOKEN]
                for token in tokens
                if token[0] in _ASCII_DIGITS
            )
        )

    def add_organisation(self, tokens: Iterable[str]) -> None:
        """The tokens of the name of the organisation a person belongs to, made by another
        :class:`SearchTokens` as for a company name (already cut and never empty). They end the
        document as marks (see the module's docstring), so that the search finds a person by
        their organisation's name only for whoever may see the organisation."""
        self.organisation.update(dict.fromkeys(tokens))

    def add_han(
        self, run: str, syllables: Sequence[str], *, pairs: bool = True, pinyin_pairs: bool = True
    ) -> None:
        """A run of Han characters with the pinyin of each of its characters (``pairs`` and
        ``pinyin_pairs``: see :meth:`add_han_pairs`)."""
        tokens = []
        if len(run) <= HAN_WINDOW:
            # Every suffix's pinyin is a slice of the whole run's: one join instead of many.
            full = "".join(syllables)
            offset = 0
            for start, syllable in enumerate(syllables):
                tokens.append(run[start:])
                tokens.append(full[offset : MAX_TOKEN + offset])
                offset += len(syllable)
        else:
            for start in range(len(run)):
                tokens.append(run[start : start + HAN_WINDOW])
                tokens.append("".join(syllables[start : start + HAN_WINDOW])[:MAX_TOKEN])
        tokens.append("".join(s[:1] for s in syllables)[:MAX_TOKEN])
        self.tokens.update(dict.fromkeys(tokens))
        self.tokens.pop("", None)
        if pairs:
            self.add_han_pairs(run, syllables, pinyin=pinyin_pairs)

    def add_surname(self, name: str) -> None:
        """For a person's normalised name whose first Han character reads differently as a
        surname (:data:`SURNAME_READINGS`): the pinyin of that run and its initials with the
        surname reading (曾伟: zengwei and zw, beside cengwei and cw from :meth:`add_han`).

        Two tokens at most, and only for the few names concerned: any pinyin typed from the
        start of the name (zeng, zengw, zengwei) is a prefix of the first, and a fragment from
        the second character on never involved the surname. Pairs and later suffixes are
        left as they are."""
        match = _HAN_RUN.search(name)
        reading = SURNAME_READINGS.get(match.group()[0]) if match else None
        if reading is None:
            return
        syllables = han_syllables(match.group())
        if syllables[0] == reading:  # read as a surname already (a phrase pypinyin knows)
            return
        self.add(reading + "".join(syllables[1:HAN_WINDOW]))
        self.add(reading[0] + "".join(s[:1] for s in syllables[1:]))

    def add_han_pairs(self, run: str, syllables: Sequence[str], *, pinyin: bool = True) -> None:
        """Each pair of characters inside a run (the last pair is a suffix already), and with
        ``pinyin`` its pinyin.

        With the suffixes, every two characters that occur together anywhere in a document are a
        token of it, so a two-character query is looked up whole (:func:`is_exact_word`): one
        entry of the index instead of every suffix it prefixes. 宏达 prefixes the suffixes of
        some 21,000 of a million demo customers' names and companies (宏达科技有限公司…), and a
        sales rep's prefix search for it took 42 ms in the index alone, the exact token 3 ms.

        They also feed PostgreSQL's statistics, which estimate a prefix search from the tokens
        that are common: 上海 alone is a token of a few percent of all customers and so known to
        be common, where 上海:* would only prefix thousands of rare suffixes, be taken for a rare
        search, and make the planner fetch every match to sort them instead of reading the
        newest customers until a page is full. The pinyin pairs serve only that, so a company
        name, stored again for each of its people, gets its character pairs alone."""
        tokens = []
        for start in range(len(run) - 2):
            tokens.append(run[start : start + 2])
            if pinyin:
                tokens.append(syllables[start] + syllables[start + 1])
        self.tokens.update(dict.fromkeys(tokens))
        self.tokens.pop("", None)

    def add_text(self, text: str, *, run_together: bool = False, pinyin_pairs: bool = True) -> None:
        """Tokens of a normalised name, company, tag, email or id. ``run_together`` adds the
        Latin words joined up (for a customer's name: "zhang wei" -> zhangwei); ``pinyin_pairs``
        the pinyin of the pairs of Han characters (see :meth:`add_han_pairs`)."""
        latin: list[str] = []
        for chunk in _chunks(text):
            if "@" in chunk:
                self._add_address(chunk)
                continue
            for run in _HAN_RUNS.findall(chunk):
                if _HAN.match(run):
                    self.add_han(run, han_syllables(run), pinyin_pairs=pinyin_pairs)
                    continue
                run = run.strip(_PUNCTUATION)
                if not run:
                    continue
                self.add(run)
                pieces = [p for p in _PIECES.split(run) if p]
                if len(pieces) > 1:
                    for piece in pieces:
                        self.add(piece)
                latin += pieces
        for match in _APOSTROPHE_WORDS.finditer(text):
            self.add(_APOSTROPHES.sub("", match.group()))
        if run_together and len(latin) > 1:
            self.add("".join(latin))

    def add_written(self, text: str, **options) -> None:
        """A name, company or tag as written (not yet normalised): the tokens of
        :meth:`add_text` (with its ``options``) and those of its :func:`other_spellings`."""
        self.add_text(normalise(text), **options)
        for form in other_spellings(text):
            self.add_text(form, **options)

    def add_external_id(self, text: str) -> None:
        """A normalised external id: the tokens of :meth:`add_text`, and its runs of letters
        and digits run together, from each of the first :data:`MAX_TAILS` on
        (ERP-2024-0001 -> erp20240001, 20240001, 0001), so that it is found however its parts
        are separated when typed: ERP 2024 0001 (erp and the number 20240001), ERP20240001,
        ERP.2024.0001."""
        self.add_text(text)
        pieces = _ID_PIECES.findall(text)
        if len(pieces) > 1:
            for start in range(min(len(pieces), MAX_TAILS)):
                self.add("".join(pieces[start:]))

    def _add_address(self, address: str) -> None:
        local, _at, domain = address.partition("@")
        self.add(address)
        self.add(local)
        self.add(domain)
        pieces = [p for p in _LOCAL_PIECES.split(local) if p]
        if len(pieces) > 1:
            for piece in pieces:
                self.add(piece)
            # The local part from each piece on (wei_88 of li.wei_88), so that a piece typed
            # with what follows it is a prefix too.
            for separator in islice(_LOCAL_PIECES.finditer(local), MAX_TAILS):
                self.add(local[separator.end() :])
        # The domain from each of its labels or hyphenated words on (rim.com of
        # pacific-rim.com), but not a bare top-level domain or registry suffix (com, com.cn).
        for separator in islice(re.finditer(r"[.\-]+", domain), MAX_TAILS):
            tail = domain[separator.end() :]
            label, dot, _rest = tail.partition(".")
            if dot and label not in _REGISTRY_LABELS:
                self.add(tail)
        # Characters in an address (张伟@公司.cn) are not split into suffixes; their pairs are
        # still tokens, as everywhere else (see add_han_pairs).
        for run in _HAN_ONLY_RUNS.findall(address):
            for start in range(len(run) - 1):
                self.add(run[start : start + 2])

    def add_phone(self, number: str, display: str) -> None:
        """A stored (E.164) number's digits and its runs of four digits, and the marks of what
        the mask shows of it when it is displayed as ``display``."""
        digits = digits_only(number)[:MAX_TOKEN]
        if not digits:
            return
        tokens = [digits]
        tokens += [digits[i : i + PHONE_RUN] for i in range(len(digits) - PHONE_RUN + 1)]
        self.tokens.update(dict.fromkeys(tokens))
        shown = shown_digits("+" + digits, display)
        marks = [LAST_DIGITS_MARK + shown.last] if shown.last else []
        marks += [SHOWN_START_MARK + start for start in shown.starts]
        marks.append(WHOLE_NUMBER_MARK + shown.whole)
        self.phone_shown.update(dict.fromkeys(mark[:MAX_TOKEN] for mark in marks))

    def add_number_heads(self) -> None:
        """The first four digits of every longer token that starts with four digits (61501234
        of a QQ address 61501234@qq.com gives 6150), so that four digits, the commonest phone
        search, are looked up as a whole token (:func:`is_whole_token`) rather than as a
        prefix. A phone's own tokens need none: its runs hold each four digits of it. Last, as
        they are made from the tokens already collected.

        A prefix lookup cannot skip through the index's other conditions: a sales rep's search
        for the last four digits of a number read the index entries of all the customers their
        team owns, 7 to 12 ms of a million customers' index, where the whole token took 1.5 ms
        (measured on a loaded machine). The marks of other fields' digits get theirs for the
        same reason (#6150 of #61501234)."""
        heads = [
            token[:PHONE_RUN]
            for token in self.tokens
            if len(token) > PHONE_RUN and _is_number_head(token[:PHONE_RUN])
        ]
        self.tokens.update(dict.fromkeys(heads))
        self.organisation.update(
            dict.fromkeys(
                token[:PHONE_RUN]
                for token in list(self.organisation)
                if len(token) > PHONE_RUN and _is_number_head(token[:PHONE_RUN])
            )
        )
        marked = len(FIELD_DIGITS_MARK)
        self.field_digits.update(
            dict.fromkeys(
                mark[: marked + PHONE_RUN]
                for mark in self.field_digits
                if len(mark) > marked + PHONE_RUN and _is_number_head(mark[marked:][:PHONE_RUN])
            )
        )

    def text(self) -> str:
        """The tokens alone, space-separated."""
        return " ".join(self.tokens)

    def document(self) -> str:
        """A customer's search text: the tokens, then the marks."""
        return " ".join(
            [*self.tokens, *self.field_digits, *self.phone_shown, *self._organisation_marks()]
        )

    def _organisation_marks(self) -> list[str]:
        """The organisation's tokens that the person's own fields do not give them (those are
        found whoever searches), each after :data:`ORGANISATION_MARK`, and those starting with
        digits also as a field's digits are marked for a masked searcher (``~o#2024``). Not cut
        to :data:`MAX_TOKEN` again: a mark then holds the whole token, as a query's mark holds
        the whole word, so the plain word occurs wherever its mark does (see
        :class:`TokenMatch`).

        The digits' marks are left out only where another field's mark stands for them, not
        where a token is all the person holds: a phone's tokens are no mark, and a person whose
        phone holds the digits would otherwise be the one of the organisation's people its
        digits did not find for a masked searcher, which tells what the mask hides."""
        own = [token for token in self.organisation if token not in self.tokens]
        digits = [
            mark
            for mark in dict.fromkeys(
                (FIELD_DIGITS_MARK + t)[:MAX_TOKEN]
                for t in self.organisation
                if t[0] in _ASCII_DIGITS
            )
            if mark not in self.field_digits
        ]
        return [ORGANISATION_MARK + token for token in (*own, *digits)]


def _is_number_head(text: str) -> bool:
    return len(text) == PHONE_RUN and text.isascii() and text.isdigit()


def build_search_text(
    *,
    name: str,
    company: str,
    organisation: str = "",
    phones: Iterable[tuple[str, str]],
    emails: Iterable[str],
    tags: Iterable[str],
    external_id: str | None = None,
    person: bool,
) -> str:
    """The search document of a customer: its tokens, space-separated (see the module's
    docstring). ``company`` is the customer's own company text, ``organisation`` the name of
    the organisation a person belongs to (their marks: see :meth:`SearchTokens.add_organisation`);
    ``phones`` are stored numbers, each as (E.164, display); ``person`` adds the surname
    reading of the name's first character (see :data:`SURNAME_READINGS`)."""
    tokens = SearchTokens()
    tokens.add_written(name, run_together=True)
    if person:
        tokens.add_surname(normalise(name))
    tokens.add_written(company, pinyin_pairs=False)
    if organisation:
        tokens.add_organisation(company_tokens(organisation))
    for number, display in phones:
        tokens.add_phone(number, display)
    for address in emails:
        tokens.add_text(normalise(address))
    for tag in tags:
        tokens.add_written(tag)
    if external_id:
        tokens.add_external_id(normalise(external_id))
    tokens.add_number_heads()
    return tokens.document()


def company_tokens(name: str) -> list[str]:
    """The tokens of a company name as written, as its people's documents hold them (the
    pairs of Han characters without their pinyin)."""
    tokens = SearchTokens()
    tokens.add_written(name, pinyin_pairs=False)
    return list(tokens.tokens)


def text_tokens(*texts: str) -> str:
    """The tokens of free texts (an article's fields, a ticket's subject and description),
    space-separated, with the pairs of Han characters but not their pinyin, as for a company
    name. Similar cases are found by comparing an article's tokens with a ticket's, so both are
    made here, by the same rule."""
    tokens = SearchTokens()
    for text in texts:
        tokens.add_written(text or "", pinyin_pairs=False)
    return tokens.text()


# --- queries ---------------------------------------------------------------------------------

Term = tuple[str, ...]  # alternatives: the term matches when any of them is a token's prefix


class DialledNumber(str):
    """Digits of a query as a stored number would hold them once the prefix they were dialled
    with is taken off (0755 -> 86755, 0086138… -> 86138…). They can only be a phone's, so they
    are looked for only as a phone's digits are held: by their four-digit runs (a run itself
    when there are four), never as the prefix of a token. As a prefix, 86157 (from 0157) is
    the start of every whole number beginning +86 157: tens of thousands of distinct tokens
    to read in the index, 0.1 s and more with a million customers, where the runs 8615 and
    6157 are two entries and find the same numbers. Left out is another field's token that
    starts with those digits (an external id 86157-A), which the digits typed so still find."""

    __slots__ = ()


# The country whose national format (0 + area code) a number typed with a leading 0 is read in.
TRUNK_COUNTRY_CODE = "86"


def _digit_term(digits: str, *also: str) -> Term:
    alternatives = [digits]
    # Dialled prefixes that stored numbers do not have: 00 (international), 0 (trunk).
    if digits.startswith("00"):
        # Only with a run's worth of digits after it: 0081 is a number's last four, and the 81
        # behind the 00 would be the start of millions of indexed runs (seconds of reading).
        if len(digits) - 2 >= PHONE_RUN:
            alternatives.append(digits[2:])
    elif digits.startswith("0") and len(digits) >= 3:
        # A number in national format (021-6234, (0755) 2345, 0755) starts where the stored
        # E.164 number has the country code instead of the 0: +86 755 2345 6789 is indexed as
        # 8675523456789, so 0755-2345 is the start of that number, 867552345 (looked for by
        # its runs, which the substring test keeps consecutive), where 7552345 alone would be
        # the digits anywhere in any number. The digits as typed stay an alternative: 0755 may
        # also be the last four digits of a number.
        alternatives.append(TRUNK_COUNTRY_CODE + digits[1:])
        if len(digits) >= 10:  # a whole national number, of any country (+44 20 7946 0000)
            alternatives.append(digits[1:])
    dialled = [DialledNumber(a[:MAX_TOKEN]) for a in alternatives[1:]]
    kept = [digits[:MAX_TOKEN], *dialled, *(a[:MAX_TOKEN] for a in also)]
    return tuple(dict.fromkeys(a for a in kept if a))


def _han_term(run: str, typed: str, *, legal_forms: bool = True) -> Term:
    """The forms a Han run of a query may have in a search text: ``run`` is ``typed``
    converted to simplified characters as a whole.

    OpenCC converts by phrase, so a fragment of a name can convert otherwise than the whole
    name did when it was stored: 张乾坤 keeps its 乾, the fragment 张乾 alone becomes 张干; 鍾馗
    is stored as 锺馗, 鍾 alone becomes 钟. So the run is also looked for as typed, and with
    each character in each of its simplified forms (:func:`simplified_forms`: 張乾 -> 张干,
    张乾; 鍾 -> 钟, 锺; 钟馗 -> 钟馗, 锺馗), the commonest first, up to
    :data:`MAX_HAN_FORMS` of them. Each is one more lookup in the index; nearly every run has
    one form.

    Without ``legal_forms``, the legal form the run ends with goes first (see
    :func:`without_legal_forms`), before the run is cut to the window: in a long company name
    it would otherwise be cut in two and stay in the query."""
    if not legal_forms:
        stem = _without_chinese_legal_form(run)
        if len(typed) == len(run):
            typed = typed[: len(stem)]
        run = stem
    forms = [simplified_forms(char) for char in typed[:HAN_WINDOW]]
    combined = ("".join(chars) for chars in product(*forms))
    alternatives = [run, typed, *islice(combined, MAX_HAN_FORMS)]
    return tuple(dict.fromkeys(a[:HAN_WINDOW] for a in alternatives))


def _latin_term(run: str) -> Term:
    """A Latin run of a query, and where it may be pinyin with ü in it, that pinyin as stored.

    pypinyin writes ü as v (吕 lv, 女 nv, 略 lve), as input methods have it typed; but ü typed
    with its dots (or a tone mark: lǚ) is folded to u, and u is how it is written without
    them (Lu Bu for 吕布), yu how Chinese passports write it (LYU). So after l and n, where
    pinyin has both u and ü, u and yu are looked for as v too, unless an o or a follows (luo,
    nuan: never ü)."""
    alternatives = [run]
    toneless = _without_tone_numbers(run)
    if toneless:
        alternatives.append(toneless)
        run = toneless
    if run.isascii() and run.isalpha():
        alternatives.append(_PINYIN_U.sub("v", run))
    return tuple(dict.fromkeys(a[:MAX_TOKEN] for a in alternatives))


# The combining grave, acute, macron and caron: pinyin's tone marks.
_TONE_MARKS = dict.fromkeys(map(ord, "\u0300\u0301\u0304\u030c"))


@lru_cache(maxsize=1)
def _pinyin_syllables() -> frozenset[str]:
    """Every pinyin syllable without its tone, ü written v as stored (lv, nve)."""
    from pypinyin.pinyin_dict import pinyin_dict

    readings = {r for value in pinyin_dict.values() for r in value.split(",") if r}
    # Tone marks off, the dots of ü kept (lǜ -> lü -> lv).
    bare = (unicodedata.normalize("NFD", r).translate(_TONE_MARKS) for r in readings)
    return frozenset(unicodedata.normalize("NFC", r).replace("ü", "v") for r in bare)


def _without_tone_numbers(run: str) -> str:
    """Pinyin typed with tone numbers, without them (zhang1wei3 -> zhangwei, lv4 -> lv), as
    input methods and dictionaries write it; "" for anything else (a word with digits that
    are not after pinyin syllables: vip2, b2b, a1 — a single letter would prefix far too
    much to be worth reading as pinyin)."""
    if not run.isascii() or run.isalpha() or run.isdigit():
        return ""
    syllables = _TONED_SYLLABLES.findall(run)
    toneless = "".join(letters for letters, _tone in syllables)
    if sum(len(letters) + 1 for letters, _tone in syllables) != len(run) or len(toneless) < 2:
        return ""
    if not all(letters in _pinyin_syllables() for letters, _tone in syllables):
        return ""
    return toneless


def _latin_terms(run: str, joined: dict[str, str]) -> list[Term]:
    """The terms of a Latin run of a query word (letters, digits and ``. @ _ + -``).

    A run of words joined by hyphens is looked for word by word (Pacific-Rim finds Pacific Rim,
    Li-Wei the pinyin liwei), each word or the whole run as typed (a domain, pacific-rim.com,
    is a token as a whole). A run with digits and punctuation (an id, an email's local part)
    is looked for as typed or run together: ERP.2024.0001 as erp20240001, which an external
    id is stored as whatever separates its parts (see ``SearchTokens.add_external_id``).
    ``joined`` maps the later words of an O'Brien to the word run together up to them (brien:
    obrien), which a name saved without the apostrophe has as a token."""

    def word_term(word: str, *also: str) -> Term:
        alternatives = [*_latin_term(word), *([joined[word]] if word in joined else []), *also]
        return tuple(dict.fromkeys(a[:MAX_TOKEN] for a in alternatives))

    if not _PIECES.search(run):
        return [word_term(run)]
    if any(c.isdigit() for c in run):
        return [tuple(dict.fromkeys([run[:MAX_TOKEN], _PIECES.sub("", run)[:MAX_TOKEN]]))]
    words = [w for w in (w.strip(_PUNCTUATION) for w in run.split("-")) if w]
    if len(words) < 2:
        return [(run[:MAX_TOKEN],)]
    return [word_term(word, run) for word in words]


def _word_terms(word: str, unconverted: str = "", *, legal_forms: bool = True) -> list[Term]:
    """The terms of one normalised query word. ``unconverted`` is the word folded but not
    turned into simplified characters, for the other forms of its Han runs (see
    :func:`_han_term`)."""
    terms: list[Term] = []
    as_typed = [
        run for chunk in _chunks(unconverted) for run in _HAN_RUNS.findall(chunk) if _HAN.match(run)
    ]
    han_runs = [
        run for chunk in _chunks(word) for run in _HAN_RUNS.findall(chunk) if _HAN.match(run)
    ]
    if len(as_typed) != len(han_runs):
        as_typed = han_runs
    typed_of = iter(as_typed)
    joined = {}
    for match in _APOSTROPHE_WORDS.finditer(word):
        first, *later = _APOSTROPHES.split(match.group())
        # Built up one word at a time and cut to a token's length as the terms are: joining
        # each prefix afresh took seconds for thousands of words joined by apostrophes.
        run_together = first[:MAX_TOKEN]
        for later_word in later:
            run_together = (run_together + later_word)[:MAX_TOKEN]
            joined[later_word] = run_together
    for chunk in _chunks(word):
        if "@" in chunk:  # an address stays whole, whatever it is made of
            terms.append((chunk[:MAX_TOKEN],))
            continue
        if _NUMERIC.fullmatch(chunk) and any(c.isdigit() for c in chunk):
            terms.append(_digit_term(digits_only(chunk), chunk))
            continue
        for run in _HAN_RUNS.findall(chunk):
            if _HAN.match(run):
                terms.append(_han_term(run, next(typed_of), legal_forms=legal_forms))
            else:
                run = run.strip(_PUNCTUATION)
                if run:
                    terms.extend(_latin_terms(run, joined))
    return terms


def parse_query(query: str, *, legal_forms: bool = True) -> list[Term]:
    """The terms a search box entry must all match, each a tuple of alternative prefixes.

    Words are normalised like documents; a word mixing Han and Latin is split into runs
    (张伟abc -> 张伟, abc). Numbers are matched on their digits: "138-1234" looks for 1381234 (or
    the text as typed, for ids like 2024-0001), and consecutive numeric words are one number
    ("+86 138 1234 5678", as phones are displayed). Anything else is dropped, so no input can
    upset the database's query syntax. A query typed with letters that keyboards often lack
    (Müller, Søren) is also looked for in their :func:`other_spellings`.
    """
    terms = _parse_query(query, legal_forms)
    if query and not query.isascii():
        for form in other_spellings(query):
            other = _parse_query(form, legal_forms)
            # The spellings change letters into letters, so the terms correspond one to one.
            if len(other) == len(terms):
                terms = [tuple(dict.fromkeys(a + b)) for a, b in zip(terms, other, strict=True)]
    return terms


def _parse_query(query: str, legal_forms: bool) -> list[Term]:
    terms: list[Term] = []
    numeric: list[str] = []

    def flush_numeric() -> None:
        if not numeric:
            return
        digits = "".join(digits_only(w) for w in numeric)
        typed = _chunks(numeric[0]) if len(numeric) == 1 else []
        terms.append(_digit_term(digits, *(typed if len(typed) == 1 else ())))
        numeric.clear()

    folded = fold(query or "")
    words = to_simplified(folded).split()
    typed_words = folded.split()
    if len(typed_words) != len(words):
        typed_words = words
    for word, typed in zip(words, typed_words, strict=True):
        if _NUMERIC.fullmatch(word) and any(c.isdigit() for c in word):
            numeric.append(word)
            continue
        flush_numeric()
        terms.extend(_word_terms(word, typed, legal_forms=legal_forms))
    flush_numeric()
    return list(dict.fromkeys(terms))[:MAX_QUERY_TERMS]


def _without_chinese_legal_form(text: str) -> str:
    """``text`` without the legal forms it ends with, unless less than two characters (a name
    too short to look for) would be left."""
    stem, changed = text, True
    while changed:
        changed = False
        for form in CHINESE_LEGAL_FORMS:
            if stem.endswith(form):
                stem, changed = stem[: -len(form)], True
    return stem if len(stem) >= 2 else text


def without_legal_forms(terms: Sequence[Term]) -> list[Term]:
    """``terms`` with the legal forms of company names left out: a word that is one (Ltd, Co.)
    is dropped, and a run of Han characters loses the one it ends with (华瑞贸易公司 ->
    华瑞贸易), so a company is found however its legal form is typed. A query of legal forms
    alone (有限公司, "Co., Ltd.") is left as it is."""
    kept = []
    for term in terms:
        if term[0] in LATIN_LEGAL_FORMS:
            continue
        if _HAN.match(term[0]):
            term = tuple(dict.fromkeys(_without_chinese_legal_form(text) for text in term))
        kept.append(term)
    return list(dict.fromkeys(kept)) if kept else list(terms)


def _digit_runs(text: str) -> list[str]:
    """The four-digit runs of a number too long to be a token's prefix on its own."""
    if len(text) <= PHONE_RUN or not (text.isascii() and text.isdigit()):
        return []
    return list(dict.fromkeys(text[i : i + PHONE_RUN] for i in range(len(text) - PHONE_RUN + 1)))


def contiguity_checks(terms: Sequence[Term]) -> list[Term]:
    """For each term that may be matched through digit runs, the texts of which one must occur
    in the search text (so that the runs were consecutive)."""
    return [term for term in terms if any(_digit_runs(a) for a in term)]


def is_exact_word(text: str) -> bool:
    """Whether a query word is looked up as a whole token rather than as a prefix: two Han
    characters, which every document holds as a token wherever they occur together (see
    :meth:`SearchTokens.add_han_pairs`)."""
    return _HAN_PAIR.fullmatch(text) is not None


def is_whole_token(text: str) -> bool:
    """Whether a query word is looked up as a whole token of a customer's search text rather
    than as a prefix: an exact word (:func:`is_exact_word`), or four digits, which every
    customer holds as a token wherever a token of theirs starts with them (phone runs and
    :meth:`SearchTokens.add_number_heads`)."""
    return is_exact_word(text) or _is_number_head(text)


class WholeToken(str):
    """A text looked up as a whole token only, never as a prefix nor by digit runs: a mark the
    masked search asks for (``customers.masked_phone_search``)."""

    __slots__ = ()


def _lookups(text: str) -> tuple[tuple[str, bool] | None, list[str]]:
    """How the index is asked for a query text, the same on both databases: as one lexeme
    (``(text, prefix)``: a token's prefix, or a whole token), and, for a long number, by its
    four-digit runs, which must all be tokens. A :class:`DialledNumber` is no lexeme, only its
    runs, unless it has four digits: it is then a run of its own, a whole token."""
    if isinstance(text, WholeToken):
        return (text, False), []
    runs = _digit_runs(text)
    if not isinstance(text, DialledNumber):
        return (text, not is_whole_token(text)), runs
    return (None if runs else (text, False)), runs


def with_organisation_marks(terms: Sequence[Term]) -> list[Term]:
    """``terms`` each also matched by a person's organisation marks (see
    :meth:`SearchTokens.add_organisation`): every text looked up as a lexeme is also looked
    up after :data:`ORGANISATION_MARK`, as a prefix or whole as the text itself is. Not a
    dialled number or a phone's mark, which can only be a phone's, nor digit runs: a long
    number in an organisation's name is found as a token's prefix."""
    marked = []
    for term in terms:
        also = []
        for text in term:
            if isinstance(text, DialledNumber) or text.startswith(PHONE_MARKS):
                continue
            whole = isinstance(text, WholeToken) or is_whole_token(text)
            mark = ORGANISATION_MARK + text
            also.append(WholeToken(mark) if whole else mark)
        marked.append((*term, *also))
    return marked


def quoted_lexeme(text: str, prefix: bool = True) -> str:
    """``text`` as one quoted tsquery lexeme (a prefix with ``prefix``), so nothing in it is
    parsed as tsquery syntax."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + ("':*" if prefix else "'")


def postgres_tsquery(terms: Sequence[Term]) -> str:
    """``'a':* & ('b':* | 'c':*)`` — quoted lexemes, so nothing in them is parsed; a long number
    is ``('13812345':* | '1381' & '3812' & … )``."""

    parts = []
    for term in terms:
        alternatives = []
        for text in term:
            lexeme, runs = _lookups(text)
            if lexeme:
                alternatives.append(quoted_lexeme(*lexeme))
            if runs:
                alternatives.append(
                    "(" + " & ".join(quoted_lexeme(r, prefix=False) for r in runs) + ")"
                )
        joined = " | ".join(alternatives)
        parts.append(f"({joined})" if len(alternatives) > 1 else joined)
    return " & ".join(parts)


def sqlite_match(terms: Sequence[Term]) -> str:
    """``"a"* AND ("b"* OR "c"*)`` for FTS5 — quoted strings, so operators are just text."""

    def string(text: str, prefix: bool = True) -> str:
        return '"' + text.replace('"', '""') + ('"*' if prefix else '"')

    parts = []
    for term in terms:
        alternatives = []
        for text in term:
            lexeme, runs = _lookups(text)
            if lexeme:
                alternatives.append(string(*lexeme))
            if runs:
                alternatives.append("(" + " AND ".join(string(r, prefix=False) for r in runs) + ")")
        joined = " OR ".join(alternatives)
        parts.append(f"({joined})" if len(alternatives) > 1 else joined)
    return " AND ".join(parts)


# The indexed expression on PostgreSQL (migration 0002 creates a GIN index on exactly this).
# array_remove keeps a stray double space from becoming an empty lexeme, which
# array_to_tsvector refuses — that would make the row impossible to write.
POSTGRES_DOCUMENT = "array_to_tsvector(array_remove(string_to_array({}, ' '), ''))"


class TokenMatch(Expression):
    """True for customers whose search tokens match every term, answered from the search index
    of each database (see ``customers/migrations/0002_search_index``). With
    ``organisation_marks`` a person's organisation marks count as their tokens (see
    :func:`with_organisation_marks`); whoever searches must then be allowed to see the
    organisation of a person found by them (``customers.selectors.search_matches``)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, terms: Sequence[Term], *, organisation_marks: bool = False):
        super().__init__()
        self.terms = tuple(terms)
        # What the index is asked. The substring tests below stay with the plain terms: a mark
        # holds its whole token after ORGANISATION_MARK, so a plain text occurs wherever its
        # mark does, and testing both would double the cost of every row that fails.
        self.looked_up = with_organisation_marks(self.terms) if organisation_marks else self.terms
        self.text = F("search_text")
        self.pk = F("pk")

    def get_source_expressions(self):
        return [self.text, self.pk]

    def set_source_expressions(self, exprs):
        self.text, self.pk = exprs

    def as_sql(self, compiler, connection):
        raise NotSupportedError(f"Customer search does not support {connection.vendor}.")

    @staticmethod
    def _occurs_sql(text_sql: str, text_params: list, function: str, terms: Sequence[Term]):
        """``(function(search_text, 'a') <> 0 OR …)`` for each term: one of its texts occurs."""
        sql, params = [], []
        for term in terms:
            tests = " OR ".join([f"{function}({text_sql}, %s) <> 0"] * len(term))
            sql.append(f"({tests})" if len(term) > 1 else tests)
            for text in term:
                params += [*text_params, text]
        return sql, params

    def as_postgresql(self, compiler, connection):
        # Every term is also tested as a plain substring of search_text, ahead of the tsquery.
        # Whenever the planner decides to read the newest customers one by one until a page is
        # full (the right plan for a common search), PostgreSQL evaluates the cheaper test
        # first, and for most rows the tokens need not be turned into a tsvector at all: 0.5 µs
        # instead of 6.5 µs a row, measured. The test can only fail where the tsquery fails
        # too, except for a long number, whose digits it checks to be consecutive (see the
        # module's docstring). "<> 0" rather than "> 0" because the planner takes an unknown
        # "<>" to be true for 99.5% of rows, so the test does not distort its estimate of how
        # many customers match.
        text_sql, text_params = compiler.compile(self.text)
        tests, test_params = self._occurs_sql(text_sql, text_params, "strpos", self.terms)
        sql = " AND ".join([*tests, f"{POSTGRES_DOCUMENT.format(text_sql)} @@ %s::tsquery"])
        return f"({sql})", [*test_params, *text_params, postgres_tsquery(self.looked_up)]

    def as_sqlite(self, compiler, connection):
        pk_sql, pk_params = compiler.compile(self.pk)
        text_sql, text_params = compiler.compile(self.text)
        table = connection.ops.quote_name(SQLITE_TABLE)
        checks, check_params = self._occurs_sql(
            text_sql, text_params, "instr", contiguity_checks(self.terms)
        )
        # The table name is a constant of this module; the query goes in as a parameter.
        search = f"{pk_sql} IN (SELECT rowid FROM {table} WHERE {table} MATCH %s)"  # noqa: S608
        sql = " AND ".join([search, *checks])
        return f"({sql})", [*pk_params, sqlite_match(self.looked_up), *check_params]


class OrganisationMarksOccur(Expression):
    """True for customers whose search text holds, as a substring, the organisation mark of any
    text of ``terms`` (see :func:`with_organisation_marks`). Where it is false, a match of
    ``TokenMatch(terms, organisation_marks=True)`` came from the customer's own tokens alone:
    a mark the query matched starts with the query's text after ``~o``. A substring test costs
    a fraction of a matching of the tokens, so ``customers.selectors.search_matches`` asks it
    first, and a search for a name, a number or an address, whose words an organisation's
    name seldom holds, needs no more for the people it finds."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, terms: Sequence[Term]):
        super().__init__()
        self.terms = tuple(terms)
        self.text = F("search_text")

    def get_source_expressions(self):
        return [self.text]

    def set_source_expressions(self, exprs):
        (self.text,) = exprs

    def _sql(self, compiler, function: str):
        text_sql, text_params = compiler.compile(self.text)
        marks = [
            text
            for term in with_organisation_marks(self.terms)
            for text in term
            if text.startswith(ORGANISATION_MARK)
        ]
        if not marks:
            return "(1 = 0)", []
        tests = " OR ".join([f"{function}({text_sql}, %s) <> 0"] * len(marks))
        params = [param for mark in marks for param in (*text_params, mark)]
        return f"({tests})", params

    def as_sql(self, compiler, connection):
        raise NotSupportedError(f"Customer search does not support {connection.vendor}.")

    def as_postgresql(self, compiler, connection):
        return self._sql(compiler, "strpos")

    def as_sqlite(self, compiler, connection):
        return self._sql(compiler, "instr")


# --- the SQLite search table -----------------------------------------------------------------

# The triggers that keep the FTS5 table in step with customers_customer (as migration 0002
# creates them; the migration has its own copy, as migrations must).
SQLITE_TRIGGERS = {
    "customers_customer_search_insert": (
        "CREATE TRIGGER customers_customer_search_insert AFTER INSERT ON customers_customer"
        " BEGIN INSERT INTO customers_customer_search(rowid, search_text)"
        " VALUES (new.id, new.search_text); END"
    ),
    "customers_customer_search_delete": (
        "CREATE TRIGGER customers_customer_search_delete AFTER DELETE ON customers_customer"
        " BEGIN INSERT INTO customers_customer_search(customers_customer_search, rowid,"
        " search_text) VALUES ('delete', old.id, old.search_text); END"
    ),
    "customers_customer_search_update": (
        "CREATE TRIGGER customers_customer_search_update AFTER UPDATE OF search_text"
        " ON customers_customer"
        " BEGIN INSERT INTO customers_customer_search(customers_customer_search, rowid,"
        " search_text) VALUES ('delete', old.id, old.search_text);"
        " INSERT INTO customers_customer_search(rowid, search_text)"
        " VALUES (new.id, new.search_text); END"
    ),
}


def create_missing_sqlite_triggers(cursor, triggers: dict[str, str], present: set[str]) -> bool:
    """Create those of ``triggers`` (name: CREATE statement) whose name is not ``present``;
    whether any was. For the ``post_migrate`` handlers that put back what a table copy on
    SQLite dropped, which then each set right what was written without them."""
    missing = [sql for name, sql in triggers.items() if name not in present]
    for sql in missing:
        cursor.execute(sql)
    return bool(missing)


def restore_sqlite_search_triggers(*, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """Put back the search table's triggers if something dropped them, and refill the table.

    Run after every ``migrate`` (``post_migrate``): to change a column, Django's SQLite backend
    copies customers_customer into a new table and drops the old one, and the triggers go with
    it — after which the search would silently stop seeing new and changed customers.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE %s ESCAPE %s",
            [r"customers\_customer\_search%", "\\"],
        )
        present = {row[0] for row in cursor.fetchall()}
        if SQLITE_TABLE not in present:  # migration 0002 is not (or no longer) applied
            return
        if not create_missing_sqlite_triggers(cursor, SQLITE_TRIGGERS, present):
            return
        cursor.execute(
            "INSERT INTO customers_customer_search(customers_customer_search) VALUES ('rebuild')"
        )
