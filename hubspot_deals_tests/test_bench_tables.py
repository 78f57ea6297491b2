"""The benchmark's arithmetic: each search-bucket model's ceilings, the peers' side-by-side rows
and ratios, and the record count of a connector's output. No timing: the benchmark itself stays
out of the suite."""

import io
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import peers  # noqa: E402
import scan_bench  # noqa: E402


@pytest.mark.parametrize(
    ("limit", "model", "expected"),
    [
        (100, "separate", (1_000, 2_000)),  # 10 lists/s + 5 searches/s of their own
        (100, "shared", (1_000, 1_500)),  # 5 lists/s + 5 searches/s in the same 10/s
        (190, "separate", (1_900, 2_900)),
        (190, "shared", (1_900, 2_400)),
        (40, "shared", (400, 800)),  # a bucket narrower than search's own: all searches
    ],
)
def test_ceilings_of_each_bucket_model(limit: int, model: str, expected: tuple) -> None:
    assert scan_bench.ceilings(limit, model) == expected


def test_side_by_side_medians_peaks_and_ratios() -> None:
    project = "hubspot-deals"
    runs = {
        project: [
            {"deals": 19_000, "wall_seconds": 4.0, "peak_rss_mb": 400.0},
            {"deals": 19_000, "wall_seconds": 5.0, "peak_rss_mb": 420.0},
            {"deals": 19_000, "wall_seconds": 3.8, "peak_rss_mb": 410.0},
        ],
        "peer": [
            {"deals": 19_000, "wall_seconds": 19.0, "peak_rss_mb": 100.0},
            {"deals": 19_000, "wall_seconds": 38.0, "peak_rss_mb": 105.0},
            {"deals": 19_000, "wall_seconds": 19.0, "peak_rss_mb": 90.0},
        ],
    }
    rows = peers.side_by_side(runs, [20_000.0, 30_000.0, 19_000.0], project)
    assert [r["contender"] for r in rows] == ["bare fetch-and-decode loop", project, "peer"]
    bare, mine, peer = rows
    assert bare["deals_per_s"] == 20_000 and bare["peak_rss_mb"] is None
    assert mine["deals_per_s"] == 4_750 and mine["peak_rss_mb"] == 420
    assert peer["deals_per_s"] == 1_000 and peer["peak_rss_mb"] == 105
    assert peer["project_speedup"] == 4.75 and mine["project_speedup"] == 1
    assert peer["memory_vs_project"] == 0.25 and bare["memory_vs_project"] is None
    assert bare["project_speedup"] == pytest.approx(0.2375)
    table = peers.markdown(rows, 20_000, 72)
    assert "| peer | 1,000 | 1,000 / 500 / 1,000 | 4.75 | 105 | 0.25x |" in table
    assert "| bare fetch-and-decode loop | 20,000 | 20,000 / 30,000 / 19,000 | 0.24 | - | - |" in (
        table
    )


def test_records_are_counted_in_singer_and_airbyte_output() -> None:
    out = io.BytesIO(
        b'{"type": "SCHEMA", "stream": "deals"}\n'
        b'{"type": "RECORD", "stream": "deals", "record": {"id": "1"}}\n'
        b'{"type":"RECORD","record":{"stream":"deals","data":{"note":"{\\"type\\":\\"RECORD\\""}}}\n'
        b'{"type":"STATE","state":{}}\n'
        b'{"type":"LOG","log":{"message":"{\\"type\\":\\"RECORD\\"}"}}\n'
    )
    assert peers.count_records(out) == 2
