"""Articles as people have them: web pages, PDFs, links, any file name, any folder,
English beside Indonesian, long and odd text. Fixtures are written for these tests (tests/fixtures/
pages/*.html in the shapes of common news layouts; PDFs made by reportlab); none is copied from a site.
No LLM: the retrieval tests use the embedding model only."""

from __future__ import annotations

import http.server
import shutil
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from rag.corpus import (
    MAX_SENTENCE_CHARS,
    corpus_ids,
    find_outlet,
    load_article,
    load_corpus,
    load_corpus_report,
    parse_article,
    save_link,
)
from rag.errors import ArticleError, CorpusError, FetchError, KutipError, PromptBudgetError
from rag.index import SentenceIndex
from rag.language import detect_text_language
from rag.readers import READERS, fetch_page, read_bytes

from .conftest import FIXTURE_CORPUS, SEEDS, make_settings
from .pdf_fixtures import ARTICLE, ARTICLE_TITLE, image_pdf, text_pdf

PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"


def texts(article):
    return [s.text for s in article.sentences]


# ----------------------------------------------------------------------------- HTML


@pytest.mark.fast
@pytest.mark.parametrize(
    "page, title, outlet, published, language, kept, gone",
    [
        (
            "nusantara_jsonld.html",
            "Harga Beras di Pasar Induk Naik 20 Persen",
            "Kabar Nusantara",
            date(2024, 3, 12),
            "id",
            "Kepala Dinas Ketahanan Pangan mengatakan stok beras di gudang pemerintah masih cukup untuk tiga bulan ke depan.",
            [
                "Baca juga",
                "Harga Cabai Rawit",
                "Berita Terkait",
                "Bulog Siapkan",
                "Komentar",
                "kampung saya",
                "Advertisement",
                "Pedoman Media Siber",
                "Beranda",
                "Olahraga",
            ],
        ),
        (
            "warta_metatag.html",
            "Gempa Magnitudo 5,6 Guncang Cianjur, Warga Mengungsi",
            "Warta Kota Kita",
            date(2024, 11, 25),
            "id",
            "Jumlah warga mengungsi: 1.200 orang",
            ["SCROLL TO CONTINUE", "Berita Populer", "Jalur Puncak", "Bagikan", "Google News", "Masuk"],
        ),
        (
            "wire_english.html",
            "U.S. and allies weigh new sanctions on arms shipments",
            "Global Wire",
            date(2024, 11, 25),
            "en",
            "Dr. Lee of the Institute for Security Studies said about 13,000 containers had been moved since 2022.",
            [
                "Advertisement",
                "Scroll to continue",
                "Related Stories",
                "Shipping insurers",
                "Subscribe",
                "Reporting by",
                "quotes delayed",
            ],
        ),
        (
            "blog_wordpress.html",
            "Festival Kopi Gayo Digelar di Takengon",
            "Serambi Kopi",
            date(2023, 8, 6),
            "id",
            "Panitia menyebut sekitar 8 ton kopi arabika terjual selama tiga hari festival berlangsung.",
            [
                "Diposting pada",
                "tanggapan",
                "tahun depan saya ikut",
                "Tinggalkan Balasan",
                "Pos-pos Terbaru",
                "Artikel ini telah tayang",
                "Lomba Barista",
            ],
        ),
    ],
)
def test_html_pages_give_main_text_and_metadata(page, title, outlet, published, language, kept, gone):
    article = load_article(PAGES / page, root=PAGES)
    assert (article.title, article.outlet, article.published, article.language) == (title, outlet, published, language)
    assert article.format == "html" and article.source == page and article.id == page.rsplit(".", 1)[0]
    assert kept in texts(article)
    for furniture in gone:
        assert furniture not in article.text, furniture


@pytest.mark.fast
def test_html_list_items_and_english_abbreviations_are_sentences():
    gempa = load_article(PAGES / "warta_metatag.html")
    assert texts(gempa)[3:5] == ["Jumlah warga mengungsi: 1.200 orang", "Rumah rusak berat: 85 unit"]
    wire = load_article(PAGES / "wire_english.html")
    assert texts(wire)[:2] == [
        "WASHINGTON (Global Wire) - The U.S. and its allies are weighing new sanctions on arms shipments, officials said on Monday.",
        "Mr. Carter, a senior official at the State Department, said the measures could target shipping firms, e.g. those registered in third countries.",
    ]
    # the body's event dates ("17 Agustus 1981", "June 19, 2024") are not the publication date
    assert load_article(PAGES / "nusantara_jsonld.html").published == date(2024, 3, 12)


@pytest.mark.fast
def test_html_without_metadata_falls_back_to_the_text_rules():
    page = (
        b"<html><body><nav><a href='/'>Home</a> <a href='/a'>Nasional</a></nav><article>"
        b"<p>Selasa, 12 Maret 2024 10:15 WIB</p>"
        b"<p>TEMPO.CO, Jakarta - Pemerintah menaikkan anggaran subsidi pupuk sebesar Rp 14 triliun untuk musim tanam tahun ini.</p>"
        b"<p>Kebijakan itu diumumkan setelah rapat terbatas di Istana pada Senin malam, kata juru bicara kementerian.</p>"
        b"</article></body></html>"
    )
    doc = read_bytes(page, "pupuk.html")
    article = parse_article("pupuk", doc.text, doc.sha256, title=doc.title, outlet=doc.outlet, published=doc.published)
    assert article.outlet == "TEMPO.CO" and article.published == date(2024, 3, 12)
    assert texts(article)[0].startswith("TEMPO.CO, Jakarta - Pemerintah menaikkan anggaran")


@pytest.mark.fast
def test_a_page_with_no_article_text_is_refused():
    with pytest.raises(ArticleError, match=r"^menu\.html: no article text found"):
        read_bytes(b"<html><body><nav><a href='/'>Home</a></nav><script>var x = 1;</script></body></html>", "menu.html")


# ----------------------------------------------------------------------------- PDF


@pytest.mark.fast
@pytest.mark.parametrize("columns", [1, 2])
def test_text_pdf_is_read_in_sentences_with_its_title(tmp_path, columns):
    pdf = text_pdf(tmp_path / "banjir.pdf", columns=columns)
    article = load_article(pdf, root=tmp_path)
    assert article.format == "pdf" and article.title == ARTICLE_TITLE and article.outlet == "KABAR PESISIR"
    assert texts(article) == ARTICLE  # hard-wrapped PDF lines joined back; the page number "1" dropped
    assert article.published == date(2024, 2, 3)  # the text states no date: the PDF's creation date is the fallback


@pytest.mark.fast
def test_scanned_pdf_is_reported_not_indexed_empty(tmp_path):
    scan = image_pdf(tmp_path / "pindaian.pdf")
    with pytest.raises(ArticleError, match=r"^pindaian\.pdf: no text layer in its 2 page\(s\) .*run OCR"):
        load_article(scan)
    articles, skipped = load_corpus_report(tmp_path)
    assert articles == [] and "no text layer" in skipped[0].reason


@pytest.mark.fast
def test_every_reader_is_in_the_one_map():
    assert set(READERS) == {".txt", ".md", ".html", ".htm", ".pdf"}
    with pytest.raises(ArticleError, match=r"notes\.docx: not an article type \(\.docx\); kutip reads"):
        read_bytes(b"PK\x03\x04", "notes.docx")


# ----------------------------------------------------------------------------- links


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/berita/harga-beras":
            body = (PAGES / "nusantara_jsonld.html").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/pendek":
            self.send_response(301)
            self.send_header("Location", "/berita/harga-beras")
            self.end_headers()
        elif self.path.startswith("/putar"):
            self.send_response(302)
            self.send_header("Location", f"/putar{len(self.path)}")
            self.end_headers()
        elif self.path == "/lambat":
            time.sleep(3)
            self.send_response(200)
            self.end_headers()
        elif self.path == "/besar":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()  # no Content-Length: the size limit must hold while reading
            try:
                for _ in range(300):
                    self.wfile.write(b"<p>" + b"isi " * 2500 + b"</p>")
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path == "/gambar":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(b"\x89PNG")
        else:
            self.send_response(404)
            self.end_headers()


@pytest.fixture(scope="module")
def site():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.fast
def test_link_is_fetched_saved_and_cited_by_its_url(site, tmp_path):
    url = f"{site}/pendek"  # a redirect to the article
    saved, existed = save_link(url, tmp_path)
    assert not existed and saved.parent == tmp_path / "links" and saved.suffix == ".html"
    (article,), skipped = load_corpus_report(tmp_path)
    assert skipped == [] and article.source == url
    assert article.title == "Harga Beras di Pasar Induk Naik 20 Persen" and article.outlet == "Kabar Nusantara"
    assert "Pemerintah berencana menggelar operasi pasar di 50 titik mulai pekan depan untuk menekan harga." in texts(
        article
    )


@pytest.mark.fast
@pytest.mark.parametrize(
    "path, kwargs, message",
    [
        ("/lambat", {"timeout_s": 0.5}, r"no answer within 0\.5 s \(timed out\)"),
        ("/besar", {"max_bytes": 100_000}, r"the page is too large \(over 100,000 bytes\)"),
        ("/putar", {"max_redirects": 3}, r"more than 3 redirects"),
        ("/hilang", {}, r"the server answered HTTP 404"),
        ("/gambar", {}, r"not a web page \(image/png\)"),
    ],
)
def test_bad_links_are_clear_errors(site, path, kwargs, message):
    with pytest.raises(FetchError, match=message):
        fetch_page(f"{site}{path}", **kwargs)


@pytest.mark.fast
@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x.html", "javascript:alert(1)", "http://"])
def test_only_http_links_are_fetched(url):
    with pytest.raises(FetchError, match=r"only http:// and https://|no host name"):
        fetch_page(url)


# ----------------------------------------------------------------------------- names and folders

BERITA = "Banjir Landa Kota Lama Semalam\n\nBanjir setinggi 60 sentimeter merendam {n} rumah di kota lama pada Sabtu malam. Warga mengungsi ke balai desa.\n"


@pytest.mark.fast
def test_any_file_name_any_folder(tmp_path):
    names = [
        "Berita Jakarta 1.txt",
        "soekarno (presiden).md",
        "Bérita Ñusantara — 2024!.txt",
        "utara/berita.txt",
        "selatan/berita.txt",
        "001_keep-this_id.txt",
        "ringkas.txt",
        "ringkas.md",
    ]
    for n, name in enumerate(names):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(BERITA.format(n=100 + n), encoding="utf-8")
    articles, skipped = load_corpus_report(tmp_path)
    assert skipped == [] and len(articles) == len(names)
    ids = {a.source: a.id for a in articles}
    assert len(set(ids.values())) == len(names)  # unique, also for the same name in two folders
    assert ids["001_keep-this_id.txt"] == "001_keep-this_id"  # a safe stem at the top keeps its id
    assert ids["utara/berita.txt"].startswith("utara-berita-") and ids["selatan/berita.txt"].startswith(
        "selatan-berita-"
    )
    assert ids["soekarno (presiden).md"].startswith("soekarno-presiden-")
    assert ids["Bérita Ñusantara — 2024!.txt"].startswith("berita-nusantara-2024-")
    assert ids["ringkas.txt"] != ids["ringkas.md"] and "ringkas" not in ids.values()  # one stem, two files
    for article in articles:
        assert article.title == "Banjir Landa Kota Lama Semalam"  # the article's title, not its id
        assert all(ch.isalnum() or ch in "-_" for ch in article.id)
    assert corpus_ids(tmp_path) == corpus_ids(tmp_path)  # stable


@pytest.mark.fast
def test_seed_corpus_ids_are_their_stems():
    """Tests the seed corpus itself: its ids, which the eval's questions cite, are its file stems."""
    ids = corpus_ids(SEEDS)
    assert sorted(ids.values()) == sorted(p.stem for p in SEEDS.glob("*.txt"))


# ----------------------------------------------------------------------------- metadata rules


@pytest.mark.fast
@pytest.mark.parametrize(
    "first, outlet",
    [
        ("JAKARTA - Harga beras naik.", None),  # a city alone is not an outlet
        ("Liputan6.com, Jakarta - Harga beras naik.", "Liputan6.com"),
        ("TEMPO.CO, Jakarta - Harga beras naik.", "TEMPO.CO"),
        ("Jakarta, CNN Indonesia -- Harga beras naik.", "CNN Indonesia"),
        ("Jakarta, KOMPAS.com - Harga beras naik.", "KOMPAS.com"),
        ("Jakarta (ANTARA) - Harga beras naik.", "ANTARA"),
        ("SEOUL, KABAR PESISIR – Korea Utara menembakkan rudal.", "KABAR PESISIR"),
        ("Surabaya, Senin (25/11/2024) - Harga naik.", None),
        ("Harga beras naik - kata pedagang.", None),
    ],
)
def test_datelines(first, outlet):
    assert find_outlet(first) == outlet


@pytest.mark.fast
@pytest.mark.parametrize(
    "raw, published",
    [
        (
            "Judul Berita Harga Beras Hari Ini\nSelasa, 12 Maret 2024 10:15 WIB\n\nHarga beras naik lagi di pasar, kata pedagang kepada wartawan.",
            date(2024, 3, 12),
        ),
        (
            "A Headline About The Storm Today\n12 March 2024\n\nThe storm hit the coast and killed 12 people, officials said on Tuesday.",
            date(2024, 3, 12),
        ),
        (
            "A Headline About The Storm Today\nBy Jane Doe | March 12, 2024\n\nThe storm hit the coast and killed 12 people, officials said.",
            date(2024, 3, 12),
        ),
        (
            "Dalam pemberitaan Reuters, Senin (25/11/2024), pabrik itu disebut diperluas oleh pemerintah setempat.",
            date(2024, 11, 25),
        ),
        ("Pasar itu dibuka pada 17 Agustus 1981 dan kini melayani sekitar 3.000 pedagang dari berbagai daerah.", None),
        ("Banjir merendam kota itu pada 12 Maret 2024, kata petugas yang ditemui di lokasi pengungsian warga.", None),
    ],
)
def test_publication_dates_only_from_the_header_or_a_reporting_formula(raw, published):
    assert parse_article("x", raw, "0").published == published


@pytest.mark.fast
def test_furniture_phrases_and_recurring_lines(tmp_path):
    tail = "Dapatkan kabar terbaru dari Warta Pesisir setiap pagi langsung di ponsel Anda tanpa biaya."
    for n in range(3):
        (tmp_path / f"warta_{n}.txt").write_text(
            f"WARTA PESISIR - Nelayan di pantai utara menangkap {n + 2} ton ikan tongkol pada pekan ini, kata ketua koperasi.\n"
            f"Harga ikan di pelelangan turun menjadi Rp {20 + n}.000 per kilogram.\n"
            "Baca juga: Nelayan Pantai Selatan Libur Melaut\nPenulis: Ani\nEditor: Budi\nhttps://wartapesisir.example/nelayan\n"
            "Artikel ini telah tayang di WartaPesisir.com dengan judul Nelayan Panen Tongkol.\nSimak juga: video nelayan\n"
            f"{tail}\n",
            encoding="utf-8",
        )
    articles, _ = load_corpus_report(tmp_path)
    for article in articles:
        assert len(article.sentences) == 2, texts(article)  # the tail recurs in all three: furniture by evidence
        assert article.outlet == "WARTA PESISIR"
    alone = parse_article("satu", (tmp_path / "warta_0.txt").read_text(encoding="utf-8"), "0")
    assert texts(alone)[-1] == tail  # one article alone gives no evidence: the line is kept


@pytest.mark.fast
def test_seed_corpus_language_detection_and_english():
    """Tests the seed corpus itself (real Indonesian news, harder than made-up text) as Indonesian."""
    for path in SEEDS.glob("*.txt"):
        assert detect_text_language(path.read_text(encoding="utf-8")) == "id"
    assert detect_text_language("The ministry said on Monday that exports rose 5 percent in the third quarter.") == "en"
    assert detect_text_language("Kementerian menyebut ekspor naik 5 persen pada kuartal ketiga.") == "id"


# ----------------------------------------------------------------------------- long and odd text


@pytest.mark.fast
def test_a_150000_character_paragraph_is_capped_without_losing_text():
    words = ("rudal ", "peluncur, ", "Korea Utara; ", "pabrik — ", "ribuan ")
    paragraph = "".join(words[i % 5] for i in range(40_000))[:150_000].strip()
    article = parse_article("panjang", paragraph, "0")
    assert all(len(s.text) <= MAX_SENTENCE_CHARS for s in article.sentences) and len(article.sentences) >= 300
    assert " ".join(texts(article)).split() == article.text.split() == paragraph.split()  # no text lost
    assert all(article.text[s.start : s.end] == s.text for s in article.sentences)
    # cut at clause boundaries where there are some: most pieces end with ; , or a dash
    assert sum(1 for s in article.sentences if s.text[-1] in ";,—") >= 0.9 * (len(article.sentences) - 1)
    nospace = parse_article("tanpa-spasi", "x" * 2000, "0")
    assert [len(s.text) for s in nospace.sentences] == [500, 500, 500, 500]


@pytest.mark.fast
def test_hard_wrapped_text_is_joined_back():
    raw = (
        "Pemerintah provinsi mengumumkan rencana pembangunan jalan baru\n"
        "yang menghubungkan dua kabupaten di wilayah selatan. Proyek itu\n"
        "dijadwalkan selesai pada akhir 2026 dengan anggaran sekitar Rp 2\n"
        "triliun, kata kepala dinas pekerjaan umum kepada wartawan.\n\n"
        "Warga menyambut baik rencana itu karena jalan lama sering rusak\n"
        "dan tergenang setiap musim hujan tiba di daerah tersebut.\n"
    )
    assert texts(parse_article("wrap", raw, "0")) == [
        "Pemerintah provinsi mengumumkan rencana pembangunan jalan baru yang menghubungkan dua kabupaten di wilayah selatan.",
        "Proyek itu dijadwalkan selesai pada akhir 2026 dengan anggaran sekitar Rp 2 triliun, kata kepala dinas pekerjaan umum kepada wartawan.",
        "Warga menyambut baik rencana itu karena jalan lama sering rusak dan tergenang setiap musim hujan tiba di daerah tersebut.",
    ]


@pytest.mark.fast
def test_list_items_and_short_fact_lines_are_sentences():
    raw = (
        "Serangan Rudal di Perbatasan Timur\n\n"
        "Militer melaporkan serangan besar pada dini hari di wilayah perbatasan timur negara itu.\n"
        "Jumlah korban: 15.000 orang\n- 3 rudal diluncurkan\n* 2 pangkalan rusak\n1. Sirene berbunyi pukul 03.00\n"
        "Kronologi Serangan\n"
        "Serangan berlangsung sekitar dua jam sebelum pasukan pertahanan udara berhasil menghentikannya.\n"
    )
    article = parse_article("daftar", raw, "0")
    assert texts(article) == [
        "Militer melaporkan serangan besar pada dini hari di wilayah perbatasan timur negara itu.",
        "Jumlah korban: 15.000 orang",
        "3 rudal diluncurkan",
        "2 pangkalan rusak",
        "Sirene berbunyi pukul 03.00",
        "Serangan berlangsung sekitar dua jam sebelum pasukan pertahanan udara berhasil menghentikannya.",
    ]  # "Kronologi Serangan", a subheading without a figure, is no sentence
    assert article.title == "Serangan Rudal di Perbatasan Timur"


@pytest.mark.fast
def test_prompt_budget_error_is_a_kutip_error():
    from rag.llm.llamacpp import LlamaCppLLM

    class Tiny:
        n_ctx, max_new_tokens = 512, 200

        def count_tokens(self, text):
            return 600

    with pytest.raises(PromptBudgetError, match=r"context window") as caught:
        next(LlamaCppLLM._generate(Tiny(), "x" * 3000))
    assert isinstance(caught.value, KutipError)


# ----------------------------------------------------------------------------- a corpus is a corpus


ENGLISH = (
    "WASHINGTON (Global Wire) - About 13,000 shipping containers of munitions have been moved by rail from the port of Najin "
    "since 2022, U.S. officials said on Monday.\n"
    "Mr. Carter said the shipments were tracked by satellite, e.g. at two rail yards near the border.\n"
)


@pytest.fixture()
def english_corpus(tmp_path):
    corpus = tmp_path / "campuran"
    corpus.mkdir()
    (corpus / "wire story.txt").write_text(ENGLISH, encoding="utf-8")
    (corpus / "nelayan.txt").write_text(BERITA.format(n=250), encoding="utf-8")
    (corpus / "kopi.txt").write_text(
        "Harga Kopi Naik\n\nHarga kopi arabika di tingkat petani naik menjadi Rp 80.000 per kilogram pada bulan ini.\n",
        encoding="utf-8",
    )
    return corpus


def test_english_article_beside_indonesian_is_split_stored_and_retrieved(tmp_path, english_corpus):
    from rag.retrieve import retrieve

    settings = make_settings(tmp_path / "data", corpus_dir=english_corpus)
    index = SentenceIndex(settings)
    report = index.sync(english_corpus, quiet=True)
    assert len(report.added) == 3
    english = [a for a in load_corpus_report(english_corpus)[0] if a.source == "wire story.txt"][0]
    assert english.language == "en" and texts(english)[1].startswith(
        "Mr. Carter said the shipments were tracked by satellite, e.g. at"
    )
    for question in (
        "How many containers were moved from Najin since 2022?",
        "Berapa kontainer yang dipindahkan dari Najin sejak 2022?",
    ):
        hits = retrieve(index, question, settings).hits
        best = hits[0].sentence
        assert best.article_id == english.id and best.index == 0, question
        assert best.language == "en" and best.source == "wire story.txt"


def test_corpus_switch_follows_the_folder_and_back(tmp_path, english_corpus, capsys):
    from rag.qa import QA

    data = tmp_path / "data"
    settings = make_settings(data, corpus_dir=FIXTURE_CORPUS)
    qa = QA(settings)
    qa.ensure_index()  # the one line in QA: the index follows corpus_dir
    first_ids = {a.id for a in load_corpus(FIXTURE_CORPUS)}
    assert set(qa.index.complete_articles()) == first_ids
    assert f"{len(first_ids)} added" in capsys.readouterr().err

    other = QA(make_settings(data, corpus_dir=english_corpus))
    other.ensure_index()
    records = other.index.complete_articles()
    assert {r.source for r in records.values()} == {"wire story.txt", "nelayan.txt", "kopi.txt"}
    assert all(r.corpus == str(english_corpus.resolve()) for r in records.values())
    said = capsys.readouterr().err
    assert "3 added" in said and f"{len(first_ids)} removed (switched from {FIXTURE_CORPUS.resolve()}" in said
    from rag.retrieve import retrieve

    hits = retrieve(other.index, "Berapa kapal feri baru yang melayani Selat Mirah?", other.settings).hits
    assert all(h.sentence.article_id not in first_ids for h in hits)  # nothing answers from the old corpus

    (english_corpus / "kopi.txt").unlink()  # a removal is followed too
    time.sleep(0.01)
    other.index._synced = None
    report = other.index.sync(english_corpus, quiet=True)
    assert report.removed == [a for a in report.removed if a.startswith("kopi")] and len(report.removed) == 1

    back = QA(make_settings(data, corpus_dir=FIXTURE_CORPUS))
    back.ensure_index()
    assert set(back.index.complete_articles()) == first_ids


def test_an_empty_or_missing_corpus_folder_is_refused_not_wiped(tmp_path, fixture_copy, fixture_articles):
    index = SentenceIndex(make_settings(fixture_copy, corpus_dir=FIXTURE_CORPUS))
    index.sync(FIXTURE_CORPUS, quiet=True)
    empty = tmp_path / "kosong"
    empty.mkdir()
    (empty / "rusak.txt").write_bytes(b"\xff\xfe not text")
    with pytest.raises(CorpusError, match=r"holds no readable article.*kutip ingest --rebuild"):
        index.sync(empty)
    assert set(index.complete_articles()) == {a.id for a in fixture_articles}  # all still there
    with pytest.raises(CorpusError, match=r"does not exist.*KUTIP_CORPUS_DIR"):
        index.sync(tmp_path / "tidak-ada")


def test_cli_ingest_takes_links_and_says_what_changed(site, tmp_path, monkeypatch, capsys):
    from rag.cli import main

    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    articles = len(load_corpus(corpus))
    monkeypatch.setenv("KUTIP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KUTIP_CORPUS_DIR", str(corpus))
    assert main(["ingest", f"{site}/berita/harga-beras", f"{site}/hilang"]) == 1
    out, err = capsys.readouterr()
    assert f"{articles + 1} added" in out and f"{site}/hilang: the server answered HTTP 404" in err
    gone = sorted(corpus.glob("*.txt"))[0]
    gone.unlink()
    assert main(["ingest"]) == 0
    assert "1 removed" in capsys.readouterr().out
    index = SentenceIndex(make_settings(tmp_path / "data", corpus_dir=corpus))
    sources = {r.source for r in index.complete_articles().values()}
    assert f"{site}/berita/harga-beras" in sources and gone.name not in sources


def test_ui_examples_come_from_the_loaded_corpus(tmp_path, english_corpus):
    from rag.qa import QA
    from ui.app import SEED_EXAMPLES, corpus_examples

    qa = QA(make_settings(tmp_path / "data", corpus_dir=english_corpus))
    qa.ensure_index()
    examples = corpus_examples(qa)
    assert examples and not set(examples) & set(SEED_EXAMPLES)
    assert "Apa yang diberitakan dalam “Harga Kopi Naik”?" in examples
    assert any(e.startswith("What does “") for e in examples)  # the English article, asked in English


@pytest.mark.fast
def test_citation_and_article_show_the_source():
    from rag.index import ArticleRecord
    from rag.schema import Answer, Citation
    from ui.render import Session, Turn, article_html, sources_html

    link = "https://berita.example/2024/03/harga-beras"
    citation = Citation(
        article_id="a", sentence_index=0, sentence="Harga beras naik.", title="Harga Beras", score=0.9, source=link
    )
    answer = Answer(question="q", text="Naik [1].", citations=[citation], language="id", model="m")
    html = sources_html(Session(turns=[Turn(question="q", answer=answer)]), 0, 1)
    assert "berita.example/2024/03/harga-beras" in html and "<a " not in html  # text inside the button, no nested link
    record = ArticleRecord(id="a", title="Harga Beras", sha256="0", n_sentences=1, complete=True, source=link)
    page = article_html(record, "Harga beras naik.", [(0, 0, 17)], [0], 0)
    assert f'href="{link}"' in page and 'rel="noopener noreferrer"' in page
    record_file = record.model_copy(update={"source": "sub folder/Berita Jakarta 1.txt"})
    assert "sub folder/Berita Jakarta 1.txt" in article_html(record_file, "Harga beras naik.", [(0, 0, 17)], [0], 0)


def test_ui_upload_takes_a_web_page_and_add_by_link_keeps_the_url(site, tmp_path):
    from rag.qa import QA
    from ui.app import build_app
    from ui.uploads import add_link, process_uploads

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    qa = QA(make_settings(tmp_path / "data", corpus_dir=corpus))
    (page,) = process_uploads(qa, [("Gempa Cianjur (salinan).html", PAGES / "warta_metatag.html")])
    assert page.status == "added" and page.title == "Gempa Magnitudo 5,6 Guncang Cianjur, Warga Mengungsi", page.message
    (scan,) = process_uploads(qa, [("pindaian.pdf", image_pdf(tmp_path / "pindaian.pdf"))])
    assert scan.status == "rejected" and scan.message.startswith("no text layer")
    url = f"{site}/berita/harga-beras"
    linked = add_link(qa, url)
    assert linked.status == "added" and "sentences from the page" in linked.message
    assert qa.index.complete_articles()[linked.article_id].source == url
    assert add_link(qa, url).status == "duplicate"
    bad = add_link(qa, f"{site}/hilang")
    assert bad.status == "rejected" and bad.message == "the server answered HTTP 404 Not Found"
    sentence = next(s for s in qa.index.article_sentences(linked.article_id))
    assert sentence.source == url and sentence.language == "id"
    qa.ensure_index()  # the folder now holds both; nothing to change, nothing removed
    assert set(qa.index.complete_articles()) == {page.article_id, linked.article_id}
    build_app(qa)  # the Articles tab with the link field builds over this corpus
