#!/usr/bin/env python3
"""Readers bench: per format, ingest time per article (read + clean + split, no
embedding) and what was kept and lost on the test fixtures; the PDF libraries compared on PDFs
made here; the language detectors compared on the seeds and English texts; the metadata rules on
the fixtures. Optional comparison libraries (pdfminer.six, pdfplumber, lingua, dateparser) are
measured when installed and skipped otherwise.

    nice -n 19 .venv/bin/python scripts/bench_readers.py
"""

from __future__ import annotations

import importlib.util
import io
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.corpus import load_article, load_corpus_report, parse_date  # noqa: E402
from rag.language import detect_text_language  # noqa: E402
from tests.pdf_fixtures import ARTICLE, image_pdf, text_pdf  # noqa: E402

PAGES = ROOT / "tests" / "fixtures" / "pages"
SEEDS = ROOT / "seeds"
ENGLISH = [
    "The central bank kept its benchmark rate unchanged on Wednesday, saying inflation had eased but remained above target.",
    "Rescue teams searched through the night for survivors after a landslide buried at least 20 homes in the hillside village.",
    "The company said quarterly profit rose 12 percent, helped by strong demand for its cloud services in Asia.",
    "Officials said the ferry was carrying more than 200 passengers when it ran aground near the island on Sunday.",
    "Mr. Lee told reporters the talks would resume next week, although no date had been set.",
    "Jakarta's governor said the city would add 300 electric buses to its fleet by the end of next year.",
]
INDONESIAN_SHORT = [
    "Harga cabai naik tajam menjelang Lebaran.",
    "Presiden meresmikan bendungan baru di Jawa Tengah.",
    "Timnas menang 2-0 atas Vietnam tadi malam.",
]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def timed(fn, *args, repeat: int = 3, **kwargs):
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - started)
    return best, result


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def kept_share(expected: list[str], got: str) -> float:
    """Share of the expected sentences found whole (same words in the same order) in the text."""
    flat = " ".join(words(got))
    return sum(1 for s in expected if " ".join(words(s)) in flat) / len(expected)


# ----------------------------------------------------------------------------- per format


def bench_formats(work: Path) -> None:
    print("## Ingest time per article (read + clean + split; no embedding), best of 3\n")
    print("| format | file | time | sentences | title | outlet | date | language |")
    print("|---|---|---|---|---|---|---|---|")
    load_article(PAGES / "wire_english.html")  # imports and model loads are paid once, not per article
    files = [
        *sorted(SEEDS.glob("*.txt")),
        *sorted(PAGES.glob("*.html")),
        text_pdf(work / "banjir-1col.pdf"),
        text_pdf(work / "banjir-2col.pdf", columns=2),
        text_pdf(work / "banjir-6pages.pdf", pages=6),
    ]
    per_format: dict[str, list[float]] = {}
    for path in files:
        seconds, article = timed(load_article, path, root=path.parent)
        per_format.setdefault(article.format, []).append(seconds)
        print(
            f"| {article.format} | {path.name} | {ms(seconds)} | {len(article.sentences)} | {article.title[:50]} | "
            f"{article.outlet or '–'} | {article.published or '–'} | {article.language} |"
        )
    print()
    for fmt, values in per_format.items():
        print(f"- {fmt}: median {ms(statistics.median(values))} per article over {len(values)} file(s)")
    scan = image_pdf(work / "scan.pdf")
    started = time.perf_counter()
    _, skipped = load_corpus_report(_only(scan, work))
    print(
        f"- scanned PDF: refused in {ms(time.perf_counter() - started)}: {skipped[0].reason if skipped else 'NOT REFUSED'}"
    )


def _only(path: Path, work: Path) -> Path:
    folder = work / "scan-only"
    folder.mkdir(exist_ok=True)
    (folder / path.name).write_bytes(path.read_bytes())
    return folder


def bench_kept_lost() -> None:
    print("\n## What the HTML reader kept and lost on the fixtures\n")
    import lxml.html

    for page in sorted(PAGES.glob("*.html")):
        article = load_article(page)
        tree = lxml.html.fromstring(page.read_bytes())
        for junk in tree.xpath("//script|//style|//head"):
            junk.drop_tree()
        blocks = []  # the page's text blocks, innermost first, each once
        for el in tree.iter("p", "li", "h1", "h2", "h3", "time", "a", "span", "div", "footer"):
            if el.tag in ("div", "footer", "span") and len(el):
                continue
            text = " ".join(el.text_content().split())
            if len(text) > 3 and text not in blocks:
                blocks.append(text)
        lost = [b for b in blocks if b not in article.text and b != article.title]
        print(
            f'- {page.name}: kept {len(article.sentences)} sentences, title "{article.title}"; dropped {len(lost)} text blocks: '
            + "; ".join(f'"{b[:60]}"' for b in lost)
        )


# ----------------------------------------------------------------------------- PDF libraries


def _pypdf(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _pdfminer(data: bytes) -> str:
    from pdfminer.high_level import extract_text

    return extract_text(io.BytesIO(data))


def _pdfplumber(data: bytes) -> str:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def bench_pdf_libraries(work: Path) -> None:
    print("\n## PDF libraries: time and text quality (share of the article's sentences read back whole)\n")
    pdfs = {
        "1 column, 1 page": text_pdf(work / "a.pdf"),
        "2 columns, 1 page": text_pdf(work / "b.pdf", columns=2),
        "1 column, 6 pages": text_pdf(work / "c.pdf", pages=6),
    }
    libraries = {
        "pypdf": ("pypdf", _pypdf),
        "pdfminer.six": ("pdfminer", _pdfminer),
        "pdfplumber": ("pdfplumber", _pdfplumber),
    }
    print("| library | " + " | ".join(pdfs) + " |")
    print("|---|" + "---|" * len(pdfs))
    for name, (module, fn) in libraries.items():
        if importlib.util.find_spec(module) is None:
            print(f"| {name} | " + " | ".join("not installed" for _ in pdfs) + " |")
            continue
        cells = []
        for path in pdfs.values():
            data = path.read_bytes()
            seconds, text = timed(fn, data)
            cells.append(f"{ms(seconds)}, {kept_share(ARTICLE, text):.0%} whole")
        print(f"| {name} | " + " | ".join(cells) + " |")


# ----------------------------------------------------------------------------- language detectors


def bench_language() -> None:
    print("\n## Language detectors (seeds + English news sentences + short Indonesian lines)\n")
    cases = [(p.read_text(encoding="utf-8"), "id") for p in sorted(SEEDS.glob("*.txt"))]
    cases += [(t, "en") for t in ENGLISH] + [(t, "id") for t in INDONESIAN_SHORT]
    detectors = {"py3langid (kutip)": detect_text_language}
    if importlib.util.find_spec("lingua"):
        started = time.perf_counter()
        from lingua import Language, LanguageDetectorBuilder

        detector = LanguageDetectorBuilder.from_languages(Language.INDONESIAN, Language.ENGLISH).build()
        lingua_load = time.perf_counter() - started

        def lingua_detect(text: str) -> str:
            return "en" if detector.detect_language_of(text) == Language.ENGLISH else "id"

        detectors[f"lingua (load {ms(lingua_load)})"] = lingua_detect
    from rag.text import detect_language  # the function-word rule questions use

    detectors["rag.text.detect_language (stopwords)"] = detect_language
    print("| detector | right | time per text |")
    print("|---|---|---|")
    for name, fn in detectors.items():
        fn("warm up")
        started = time.perf_counter()
        right = sum(1 for text, want in cases if fn(text) == want)
        per = (time.perf_counter() - started) / len(cases)
        print(f"| {name} | {right}/{len(cases)} | {ms(per)} |")


# ----------------------------------------------------------------------------- dates


DATES = [
    ("Selasa, 12 Maret 2024 10:15 WIB", "2024-03-12"),
    ("12 March 2024", "2024-03-12"),
    ("March 12, 2024 8:00 AM UTC", "2024-03-12"),
    ("Senin (25/11/2024)", "2024-11-25"),
    ("Senin, 25 Nov 2024 14:30 WIB", "2024-11-25"),
    ("Kamis, 1 Agt 2024", "2024-08-01"),
    ("Jumat, 30 Februari 2024", None),
]


def bench_dates() -> None:
    print("\n## Date forms: kutip's rules against dateparser\n")
    print("| text | want | kutip | dateparser |")
    print("|---|---|---|---|")
    parser = None
    if importlib.util.find_spec("dateparser"):
        import dateparser

        parser = dateparser
    ours_s = theirs_s = 0.0
    for text, want in DATES:
        seconds, ours = timed(parse_date, text, numeric=True)
        ours_s += seconds
        theirs = "–"
        if parser is not None:
            seconds, got = timed(parser.parse, text, languages=["id", "en"], settings={"DATE_ORDER": "DMY"})
            theirs_s += seconds
            theirs = got.date().isoformat() if got else "None"
        print(f"| {text} | {want} | {ours.isoformat() if ours else None} | {theirs} |")
    print(f"\nper date: kutip {ms(ours_s / len(DATES))}, dateparser {ms(theirs_s / len(DATES))}")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bench_formats(work)
        bench_kept_lost()
        bench_pdf_libraries(work)
    bench_language()
    bench_dates()
    return 0


if __name__ == "__main__":
    sys.exit(main())
