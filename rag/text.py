"""Small language tools shared by the stages: language guess, tokens and stems, numbers.

Indonesian stemming is Snowball's (PyStemmer, a C extension: fast enough for 100k+ sentences).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

Language = Literal["id", "en"]

ID_STOPWORDS = frozenset(
    [
        "yang",
        "dan",
        "di",
        "ke",
        "dari",
        "ini",
        "itu",
        "dengan",
        "untuk",
        "pada",
        "adalah",
        "dalam",
        "tidak",
        "akan",
        "juga",
        "atau",
        "oleh",
        "sebagai",
        "telah",
        "sudah",
        "karena",
        "bahwa",
        "ada",
        "mereka",
        "kami",
        "kita",
        "saya",
        "anda",
        "ia",
        "dia",
        "para",
        "pun",
        "saat",
        "bisa",
        "dapat",
        "lebih",
        "seperti",
        "tersebut",
        "hal",
        "secara",
        "antara",
        "agar",
        "setelah",
        "sebelum",
        "namun",
        "tetapi",
        "jika",
        "maka",
        "masih",
        "hanya",
        "bagi",
        "serta",
        "begitu",
        "sangat",
        "sedang",
        "tahun",
        "bulan",
        "hari",
        "apa",
        "apakah",
        "berapa",
        "siapa",
        "kapan",
        "mana",
        "mengapa",
        "bagaimana",
        "dimana",
        "kenapa",
        "berapakah",
        "siapakah",
        "manakah",
        "yaitu",
        "yakni",
        "demikian",
        "kata",
        "menurut",
        "sekitar",
        "lalu",
        "jadi",
        "sejak",
        "hingga",
        "sampai",
        "tentang",
        "terhadap",
        "kepada",
        "atas",
        "bawah",
        "banyak",
        "beberapa",
        "semua",
        "setiap",
        "nya",
        "lah",
        "kah",
        "pula",
        "tersebutlah",
    ]
)
EN_STOPWORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "as",
        "not",
        "no",
        "did",
        "do",
        "does",
        "done",
        "has",
        "have",
        "had",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "many",
        "much",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "we",
        "you",
        "i",
        "our",
        "your",
        "about",
        "into",
        "over",
        "after",
        "before",
        "than",
        "then",
        "so",
        "such",
        "can",
        "could",
        "would",
        "should",
        "will",
        "may",
        "might",
        "also",
        "only",
        "just",
        "more",
        "most",
        "other",
        "some",
        "any",
        "each",
        "according",
        "said",
        "says",
        "say",
        "tell",
        "told",
    ]
)
_ID_MARKERS = ID_STOPWORDS - EN_STOPWORDS
_EN_MARKERS = EN_STOPWORDS - ID_STOPWORDS
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-cased word tokens (numbers keep their internal separators: ``10.000`` is one token)."""
    return [m.group().lower() for m in re.finditer(r"\d+(?:[.,]\d+)*|" + _WORD.pattern, text)]


def detect_language(text: str) -> Language:
    """'id' or 'en' by counting each language's function words; ties go to Indonesian."""
    tokens = words(text)
    id_hits = sum(
        1
        for t in tokens
        if t in _ID_MARKERS or t.startswith(("meng", "meny", "memb", "di")) and t.endswith(("kan", "nya"))
    )
    en_hits = sum(1 for t in tokens if t in _EN_MARKERS)
    return "en" if en_hits > id_hits else "id"


_BACK_REFERENCES = frozenset(
    ["ini", "itu", "tersebut", "ia", "dia", "mereka", "beliau", "this", "these", "those", "it", "they", "he", "she"]
)


def refers_back(text: str, first_words: int = 3) -> bool:
    """The sentence points back to the one before it ("Pabrik ini…", "Mereka…", "This factory…"):
    a demonstrative or personal pronoun among its first words. Such a sentence is also embedded,
    judged and shown together with its previous sentence (see ``rag.index``; the rule and the
    three-word window were chosen on the dev questions)."""
    return any(token in _BACK_REFERENCES for token in words(text)[:first_words])


def with_antecedent(previous: str, sentence: str) -> str:
    """A back-referring sentence read together with the sentence before it: what its context vector
    is computed on, and what the citation check compares a claim with."""
    return f"{previous} {sentence}"


_SNOWBALL = {"id": "indonesian", "en": "english"}


@lru_cache(maxsize=4)
def _stemmer(language: str = "id"):  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer(_SNOWBALL.get(language, "indonesian"))


def stems(text: str, *, drop_stopwords: bool = True, language: str = "id") -> list[str]:
    """Stemmed content tokens (Snowball, in ``language``: Indonesian or English), for BM25."""
    tokens = [t for t in words(text) if not (drop_stopwords and (t in ID_STOPWORDS or t in EN_STOPWORDS))]
    return list(_stemmer(language).stemWords(tokens))


# ----------------------------------------------------------------------------- numbers

_SCALE = {
    "ribu": 1e3,
    "thousand": 1e3,
    "rb": 1e3,
    "juta": 1e6,
    "million": 1e6,
    "jt": 1e6,
    "mln": 1e6,
    "miliar": 1e9,
    "milyar": 1e9,
    "billion": 1e9,
    "bn": 1e9,
    "triliun": 1e12,
    "trillion": 1e12,
}
_NUMBER = re.compile(
    r"(?<![\w.,-])(\d{1,3}(?:[.,\u00a0 ]\d{3})+|\d+(?:[.,]\d+)?)(?:\s*(%|persen|percent))?"
    r"(?:\s+(" + "|".join(_SCALE) + r")\b)?",
    re.IGNORECASE,
)
_UNITS = {
    "nol": 0,
    "zero": 0,
    "satu": 1,
    "one": 1,
    "dua": 2,
    "two": 2,
    "tiga": 3,
    "three": 3,
    "empat": 4,
    "four": 4,
    "lima": 5,
    "five": 5,
    "enam": 6,
    "six": 6,
    "tujuh": 7,
    "seven": 7,
    "delapan": 8,
    "eight": 8,
    "sembilan": 9,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    # Indonesian "se-" forms: one ten, one hundred, one thousand
    "sepuluh": 10,
    "sebelas": 11,
    "seratus": 100,
    "seribu": 1000,
    "sejuta": 1e6,
    "semiliar": 1e9,
}
_MULTIPLIERS = {  # applied to the number read so far ("dua puluh", "tiga belas", "lima ratus")
    "puluh": ("times", 10),
    "belas": ("plus", 10),
    "ratus": ("times", 100),
    "hundred": ("times", 100),
}
_GROUPS = {
    "ribu": 1e3,
    "thousand": 1e3,
    "juta": 1e6,
    "million": 1e6,
    "miliar": 1e9,
    "milyar": 1e9,
    "billion": 1e9,
    "triliun": 1e12,
    "trillion": 1e12,
}
_NUMBER_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def word_numbers(text: str) -> set[float]:
    """Numbers written in words, Indonesian or English: "dua puluh lima" 25, "tiga belas" 13,
    "seratus" 100, "dua ribu lima ratus" 2500, "twenty-five" 25, "sixty" 60. "salah satu"
    ("one of") is not a number; a group word alone ("ribuan", "thousands") is not a figure."""
    found: set[float] = set()
    total = current = 0.0
    pending: float | None = None  # the last simple number, waiting for "puluh", "ratus", "ribu" …
    in_number = False
    previous = ""

    def close() -> None:
        nonlocal total, current, pending, in_number
        if in_number:
            found.add(round(total + current + (pending or 0.0), 4))
        total = current = 0.0
        pending, in_number = None, False

    for token in (t.lower() for t in _NUMBER_WORD.findall(text.replace("-", " "))):
        if token in _UNITS and not (token == "satu" and previous == "salah"):
            value = float(_UNITS[token])
            if pending is not None and pending >= 20 and pending % 10 == 0 and value < 10:
                pending += value  # "twenty five"
            else:
                if pending is not None:
                    close()  # two numbers side by side
                if value >= 100:  # seratus, seribu, sejuta
                    if value >= 1000:
                        total += value
                    else:
                        current += value
                else:
                    pending = value
                in_number = True
        elif token in _MULTIPLIERS and pending is not None:
            op, factor = _MULTIPLIERS[token]
            current += pending * factor if op == "times" else pending + factor
            pending = None
        elif token in _GROUPS and in_number:
            total += (current + (pending or 0.0) or 1.0) * _GROUPS[token]
            current, pending = 0.0, None
        elif not (token == "and" and in_number):
            close()
        previous = token
    close()
    return found


def _to_float(digits: str) -> float | None:
    clean = digits.replace("\u00a0", " ")
    if re.fullmatch(r"\d{1,3}(?:[ ]\d{3})+", clean):
        return float(clean.replace(" ", ""))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", clean):  # 10.000, 1.117.320 (thousands, Indonesian)
        return float(clean.replace(".", ""))
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", clean):  # 10,000 (thousands, English)
        return float(clean.replace(",", ""))
    if re.fullmatch(r"\d+,\d+", clean):  # 6,7 (Indonesian decimal)
        return float(clean.replace(",", "."))
    try:
        return float(clean)
    except ValueError:
        return None


def numbers(text: str) -> set[float]:
    """Every quantity in ``text`` as a float, so notations compare equal.

    ``10.000`` = ``10,000`` = ``10 000`` = ``10000``; ``6 juta`` = ``6 million`` = 6e6; ``6,7`` = 6.7.
    Years and small counts are numbers too (a claim's "2024" must be in its sentence).
    """
    found: set[float] = set()
    for m in _NUMBER.finditer(text):
        value = _to_float(m.group(1))
        if value is None:
            continue
        scale = m.group(3)
        if scale:
            value *= _SCALE[scale.lower()]
        found.add(round(value, 4))
    return found | word_numbers(text)
