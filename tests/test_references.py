"""Every entry of the seed article's reference list parses into the expected record."""

from pathlib import Path

import pytest

from qa.ingest import parse_markdown
from qa.references import format_reference, parse_reference

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def refs():
    text = (REPO / "corpus" / "space_diplomacy.md").read_text(encoding="utf-8")
    doc = parse_markdown(text, doc_id="space_diplomacy", path="space_diplomacy.md", fallback_title="x")
    return doc, {r.n: r for r in doc.references}


# n -> the fields the entry must parse into (a subset; other fields may be set too).
EXPECTED = {
    1: {"kind": "un_document", "un_symbol": "A/RES/47/68", "access_date": "16.11.2017"},
    2: {"kind": "un_document", "un_symbol": "A/RES/51/122", "access_date": "16.11.2017"},
    3: {
        "kind": "un_document",
        "un_symbol": "A/AC.105/1166",
        "date": "13 December 2017",
        "access_date": "09.08.2018",
        "container": "United Nations General Assembly",
    },
    4: {
        "kind": "un_document",
        "un_symbol": "A/RES/61/75",
        "year": "2006",
        "title": "Transparency and Confidence – building measures in outer space activities",
    },
    5: {"kind": "un_document", "un_symbol": "A/RES/62/43", "year": "2008"},
    6: {
        "kind": "article",
        "authors": ("Campbell, K. M.",),
        "year": "1991–1992",
        "title": "The U.S.-Soviet Agreement on the Prevention of Dangerous Military Activities",
        "container": "Security Studies",
        "issue": "1",
        "volume": "1",
        "doi": "10.1080/09636419109347459",
    },
    7: {
        "kind": "article",
        "authors": ("Chanock A.",),
        "year": "2013",
        "container": "JALC",
        "issue": "4",
        "volume": "78",
    },
    8: {
        "kind": "article",
        "authors": ("Fuller, T.",),
        "title": "Measuring space debris risk",
        "container": "Room, The Space Journal",
        "issue": "3(13)",
    },
    9: {
        "kind": "book",
        "authors": ("Hart, B. L.",),
        "year": "2007",
        "title": "Anti-satellite weapons, threats, laws and the uncertain future of Space",
        "container": "Institute of Air and Space Law, McGill University",
        "place": "Montreal",
        "publisher": "McGill library",
    },
    10: {"kind": "book", "authors": ("Łukaszuk, L. (ed.)",), "year": "1999", "place": "Warszawa"},
    11: {
        "kind": "article",
        "authors": ("Meyer, P.",),
        "year": "2016",
        "title": "Prospects for progress on space security diplomacy",
    },
    12: {
        "kind": "article",
        "authors": ("Milik, P.",),
        "container": "Security and Defence Quarterly",
        "issue": "13(4)",
        "doi": "10.35467/sdq/103233",
    },
    13: {
        "kind": "book",
        "authors": ("Miłosz, S.",),
        "year": "2010",
        "place": "Warszawa",
        "title": "Dyplomacja współczesna i protokół dyplomatyczny. Teoria i praktyka",
    },
    14: {
        "kind": "article",
        "authors": ("Onley, R. D.",),
        "year": "2013",
        "container": "JALC",
        "title": "Death from above? The weaponization of space and the threat to International Humanitarian Law",
    },
    15: {
        "kind": "article",
        "authors": ("Polkowska, M.",),
        "year": "2019",
        "container": "Space Policy Journal",
        "doi": "10.1016/j.spacepol.2019.101347",
        "date": "20 December 2019",
    },
    16: {
        "kind": "article",
        "authors": ("Rendleman, J. D.",),
        "title": "Brave New World of Hosted payloads",
        "container": "JSL",
        "issue": "1",
        "volume": "39",
    },
    17: {"kind": "treaty", "title": "New Strategic Arms Reduction Treaty (NEW START, CHB-III)"},
    18: {"kind": "unparsed"},
}


def test_every_seed_entry_is_a_record(refs):
    doc, by_n = refs
    assert sorted(by_n) == list(range(1, 19))


@pytest.mark.parametrize("n", sorted(EXPECTED))
def test_seed_entry_fields(refs, n):
    doc, by_n = refs
    ref = by_n[n]
    for field, value in EXPECTED[n].items():
        assert getattr(ref, field) == value, (n, field)
    assert doc.text[ref.start : ref.end] == ref.raw


def test_unparseable_line_is_flagged_not_dropped(refs):
    _, by_n = refs
    assert by_n[18].flagged and "could not be parsed" in by_n[18].flagged
    assert by_n[18].raw.startswith("www.")
    assert format_reference(by_n[18]).startswith("[unparsed]")
    assert all(by_n[n].flagged is None for n in range(1, 18))


def test_merged_second_reference_is_kept_as_note(refs):
    _, by_n = refs
    assert "Study Series No. 34" in by_n[16].note


@pytest.mark.parametrize("raw", ["", "   ", "(((", "12.12.2012", "x" * 5000, "A/", "DOI: 10.1/x"])
def test_odd_entries_never_crash(raw):
    ref = parse_reference(raw, doc_id="d", n=1, start=0)
    assert ref.raw == raw
    assert ref.kind in ("un_document", "article", "book", "report", "treaty", "unparsed")


@pytest.mark.parametrize(
    "raw, authors",
    [
        # A user test: "Hobe, S., Schmidt-Tedd, B." was one author.
        (
            "Hobe, S., Schmidt-Tedd, B. and Schrogl, K.-U. (2009). Cologne Commentary on Space Law.",
            ("Hobe, S.", "Schmidt-Tedd, B.", "Schrogl, K.-U."),
        ),
        ("Smith, J., Doe, A., & Roe, B. (2020). A title. Journal.", ("Smith, J.", "Doe, A.", "Roe, B.")),
        ("Doe, J. A., van der Berg, K. (2001). A title.", ("Doe, J. A.", "van der Berg, K.")),
        ("Jakhu, R. S. and Pelton, J. N. (2017). Global Space Governance.", ("Jakhu, R. S.", "Pelton, J. N.")),
        ("Campbell, K. M. (1991–1992). The U.S.-Soviet Agreement.", ("Campbell, K. M.",)),
    ],
)
def test_a_comma_separated_author_list_is_split_into_names(raw, authors):
    assert parse_reference(raw, doc_id="d", n=1, start=0).authors == authors


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        (
            "Kessler, D. J., & Cour-Palais, B. G. (1978). Collision frequency of artificial satellites: "
            "The creation of a debris belt. Journal of Geophysical Research, 83(A6), 2637–2646.",
            {
                "kind": "article",
                "title": "Collision frequency of artificial satellites: The creation of a debris belt",
                "container": "Journal of Geophysical Research",
                "volume": "83",
                "issue": "A6",
                "pages": "2637–2646",
            },
        ),
        (
            "Smith, J. (2020). Lunar law after Artemis. Space Policy, 51, 101–110.",
            {"kind": "article", "container": "Space Policy", "volume": "51", "issue": None, "pages": "101–110"},
        ),
        # A place and a year are no venue and volume.
        ("Brown, K. (2015). Space law: A treatise. Oxford, 2005.", {"kind": "book", "volume": None}),
        ("Grey, A. (1851). The history of treaties. London, 1850.", {"kind": "book", "volume": None}),
        # APA 7 ends with the DOI as a URL; a title may end in a question mark (a review).
        (
            "Kessler, D. J. (1978). Collision frequency. Journal of Geophysical Research, 83(A6), 2637–2646. "
            "https://doi.org/10.1029/JA083iA06p02637",
            {"kind": "article", "container": "Journal of Geophysical Research", "doi": "10.1029/JA083iA06p02637"},
        ),
        (
            "Lee, K. (2019). What is space law? Journal of Space Law, 43(1), 1–20.",
            {"kind": "article", "title": "What is space law?", "container": "Journal of Space Law", "issue": "1"},
        ),
    ],
)
def test_an_apa_journal_entry_parses_into_venue_volume_issue_and_pages(raw, fields):
    # A user test: the journal stayed in the title and the entry was called a book.
    ref = parse_reference(raw, doc_id="d", n=1, start=0)
    assert {k: getattr(ref, k) for k in fields} == fields
