"""A made-up corpus for the index tests (tests/test_index.py, tests/test_faults.py): five short
articles, four Indonesian and one English, with datelines kutip reads, so no index test depends on
the seed articles. Figures and counts are always computed from ``load_corpus`` of these files."""

from __future__ import annotations

from pathlib import Path

ARTICLES = {
    "panen.txt": """Petani Karawang Panen Raya Padi

Karawang, KABAR SAWAH – Petani Karawang memulai panen raya padi pada Senin (03/03/2025).
Petani Karawang memanen 1,2 juta ton gabah kering sepanjang tahun 2024.
Dinas pertanian mencatat luas sawah yang dipanen mencapai 97.000 hektare.
Harga gabah di tingkat petani bertahan di kisaran Rp 6.500 per kilogram.
Sebagian hasil panen disimpan di gudang Bulog di Cikampek.
Petani berharap irigasi dari Waduk Jatiluhur tetap lancar pada musim tanam berikutnya.
""",
    "kereta.txt": """Kereta Cepat Tambah Jadwal Perjalanan

Bandung, WARTA REL – Operator kereta cepat menambah jadwal perjalanan mulai Jumat (07/02/2025).
Kereta cepat kini melayani 62 perjalanan setiap hari antara Jakarta dan Bandung.
Waktu tempuh dari Halim ke Tegalluar sekitar 45 menit.
Jumlah penumpang pada Januari 2025 mencapai 540.000 orang.
Tarif termurah untuk kelas ekonomi premium adalah Rp 200.000.
Operator juga membuka stasiun Karawang untuk penumpang mulai bulan depan.
Penambahan jadwal ini diharapkan mengurangi antrean pada akhir pekan.
Sebelumnya kereta hanya melayani 48 perjalanan per hari.
""",
    "banjir.txt": """Banjir Rendam Ribuan Rumah di Pekalongan

Pekalongan, SUARA PANTURA – Banjir merendam permukiman warga di pesisir Pekalongan pada Rabu (22/01/2025).
Sebanyak 3.400 rumah terendam dengan ketinggian air hingga 80 sentimeter.
Badan penanggulangan bencana mendirikan 12 posko pengungsian.
Air laut pasang memperparah genangan di kawasan pantai utara.
Pemerintah kota menyiapkan pompa tambahan untuk menguras genangan.
""",
    "pelabuhan.txt": """Pelabuhan Patimban Bongkar Mobil Ekspor

Subang, NIAGA LAUT – Pelabuhan Patimban mencatat rekor pengapalan mobil pada Kamis (16/01/2025).
Sepanjang 2024 pelabuhan itu mengapalkan 180.000 unit mobil ke luar negeri.
Tujuan ekspor terbesar adalah Filipina, Vietnam dan Arab Saudi.
Dermaga kendaraan diperpanjang hingga 420 meter tahun lalu.
Pengelola pelabuhan menargetkan 250.000 unit pada 2025.
Pelabuhan ini juga mulai melayani peti kemas domestik.
Kapal pengangkut mobil bersandar rata-rata tiga kali dalam sepekan.
""",
    "solar.txt": """Solar Farm Opens Near Kupang

Kupang, EAST NUSA POST - A solar farm opened outside Kupang on Tuesday, March 11, 2025.
The plant has a capacity of 50 megawatts and covers 70 hectares of dry land.
It is expected to supply electricity to about 40,000 households.
The operator said the panels were installed in nine months.
Batteries store part of the daytime output for the evening peak.
""",
}


def write_corpus(folder: Path, files: dict[str, str] | None = None) -> Path:
    """Write ``files`` (default: ``ARTICLES``) into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (ARTICLES if files is None else files).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
