"""trading.prices.entsoe: the ENTSO-E Transparency Platform's day-ahead price CSV exports.

Fixtures in ``data_entsoe/`` are hand-made files in the platform's layouts (made-up prices).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trading.prices import PriceDataError, read_day_ahead_prices, read_entsoe_day_ahead

DATA = Path(__file__).resolve().parent / "data_entsoe"
LEGACY_FALL = DATA / "legacy_de_lu_2023-10-29_fall_back.csv"
LEGACY_SPRING = DATA / "legacy_nl_2023-03-26_spring_forward.csv"
CURRENT_UTC = DATA / "current_utc_be_fr_2026-03-29_15min.csv"
CURRENT_LOCAL = DATA / "current_cet_at_2024-10-27_markers.csv"
LEGACY_HEADER = '"MTU (CET/CEST)","Day-ahead Price [EUR/MWh]","Currency","BZN|DE-LU"\n'
CURRENT_HEADER = (
    '"MTU (UTC)","Area","Sequence","Day-ahead Price (EUR/MWh)",'
    '"Intraday Period (UTC)","Intraday Price (EUR/MWh)"\n'
)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _write(tmp_path: Path, lines: list[str], name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# --- layouts ---------------------------------------------------------------------------------


def test_legacy_fall_back_day_has_25_hours_the_repeated_one_by_file_order() -> None:
    frame = read_entsoe_day_ahead(LEGACY_FALL)
    assert len(frame) == 25
    assert frame.index[0] == _utc("2023-10-28T22:00Z")  # local midnight, CEST
    assert frame.index[-1] == _utc("2023-10-29T22:00Z")  # 23:00 CET
    assert frame.index.is_unique
    assert frame.index.is_monotonic_increasing
    assert set(frame["zone"]) == {"DE_LU"}
    assert set(frame["resolution_min"]) == {60}
    # The two "02:00 - 03:00" rows (lines 4 and 5): first = CEST (00:00Z), second = CET.
    assert frame.loc[_utc("2023-10-29T00:00Z"), "price_eur_mwh"] == 54.62
    assert frame.loc[_utc("2023-10-29T01:00Z"), "price_eur_mwh"] == 61.93


def test_legacy_spring_day_drops_the_placeholder_of_the_missing_hour() -> None:
    frame = read_entsoe_day_ahead(LEGACY_SPRING)
    assert len(frame) == 23  # 24 rows, one of them the non-existent 02:00-03:00
    assert set(frame["zone"]) == {"NL"}
    assert frame.index[0] == _utc("2023-03-25T23:00Z")
    assert frame.index[-1] == _utc("2023-03-26T21:00Z")
    assert (np.diff(frame.index.asi8) == 3600 * 10**9).all()
    # 01:00 CET (00:00Z) is followed directly by 03:00 CEST (01:00Z).
    assert frame["price_eur_mwh"].iloc[1:3].tolist() == [47.31, 61.93]


def test_current_utc_export_with_two_zones_gives_92_quarter_hours_each() -> None:
    frame = read_entsoe_day_ahead(CURRENT_UTC)
    assert len(frame) == 184
    assert sorted(set(frame["zone"])) == ["BE", "FR"]
    assert set(frame["resolution_min"]) == {15}
    assert list(frame["zone"].iloc[:2]) == ["BE", "FR"]  # sorted by time, then zone
    fr = read_entsoe_day_ahead(CURRENT_UTC, zone="FR")
    assert len(fr) == 92
    local_days = fr.index.tz_convert("Europe/Paris").date
    assert set(local_days) == {pd.Timestamp("2026-03-29").date()}
    assert fr["price_eur_mwh"].iloc[0] == 61.93
    with pytest.raises(PriceDataError, match=r"no rows for this zone; the file has BZN\|BE"):
        read_entsoe_day_ahead(CURRENT_UTC, zone="NL")


def test_current_local_export_uses_cest_cet_markers_whatever_the_row_order(tmp_path) -> None:
    frame = read_entsoe_day_ahead(CURRENT_LOCAL)
    assert len(frame) == 25
    assert set(frame["zone"]) == {"AT"}
    assert frame.loc[_utc("2024-10-27T00:00Z"), "price_eur_mwh"] == 61.93  # (CEST)
    assert frame.loc[_utc("2024-10-27T01:00Z"), "price_eur_mwh"] == 69.24  # (CET)
    lines = _lines(CURRENT_LOCAL)
    lines[3], lines[4] = lines[4], lines[3]  # the (CET) copy first: markers still decide
    swapped = read_entsoe_day_ahead(_write(tmp_path, lines))
    pd.testing.assert_frame_equal(swapped, frame)


def test_frame_has_the_shape_of_read_day_ahead_prices(tmp_path) -> None:
    entsoe = read_entsoe_day_ahead(LEGACY_FALL)
    long = tmp_path / "long.csv"
    rows = [
        f"{t.strftime('%Y-%m-%dT%H:%M:%SZ')},DE_LU,{p},ok,x\n"
        for t, p in zip(entsoe.index, entsoe["price_eur_mwh"], strict=True)
    ]
    long.write_text("timestamp_utc,zone,price_eur_mwh,quality,source\n" + "".join(rows))
    pd.testing.assert_frame_equal(entsoe, read_day_ahead_prices(long))


@pytest.mark.parametrize(
    ("entsoe_name", "code"),
    [("DE-LU", "DE_LU"), ("NL", "NL"), ("BE", "BE"), ("FR", "FR"), ("AT", "AT")],
)
def test_bidding_zone_names_map_to_project_codes(tmp_path, entsoe_name, code) -> None:
    lines = _lines(LEGACY_FALL)
    lines[0] = LEGACY_HEADER.replace("BZN|DE-LU", f"BZN|{entsoe_name}")
    assert set(read_entsoe_day_ahead(_write(tmp_path, lines))["zone"]) == {code}
    row = f'"BZN|{entsoe_name}","Without Sequence","1.5","",""\n'
    area = [
        CURRENT_HEADER,
        '"01/01/2025 00:00:00 - 01/01/2025 01:00:00",' + row,
        '"01/01/2025 01:00:00 - 01/01/2025 02:00:00",' + row,
    ]
    assert set(read_entsoe_day_ahead(_write(tmp_path, area, "a.csv"))["zone"]) == {code}


def test_unknown_zone_and_missing_zone_are_refused(tmp_path) -> None:
    lines = _lines(LEGACY_FALL)
    lines[0] = LEGACY_HEADER.replace("BZN|DE-LU", "BZN|PL")
    with pytest.raises(PriceDataError, match=r"line 1.*'PL' is not one the engine knows"):
        read_entsoe_day_ahead(_write(tmp_path, lines))
    bare = ['"MTU (CET)","Day-ahead Price [EUR/MWh]"\n'] + [
        ",".join(line.split(",")[:2]) + "\n" for line in _lines(LEGACY_FALL)[1:]
    ]
    path = _write(tmp_path, bare, "bare.csv")
    with pytest.raises(PriceDataError, match=r"names no bidding zone.*pass zone="):
        read_entsoe_day_ahead(path)
    assert set(read_entsoe_day_ahead(path, zone="FR")["zone"]) == {"FR"}
    with pytest.raises(PriceDataError, match=r"the file is for DE_LU"):
        read_entsoe_day_ahead(LEGACY_FALL, zone="NL")


# --- checks ----------------------------------------------------------------------------------


def test_a_gap_names_the_first_missing_interval_in_utc_and_local_time(tmp_path) -> None:
    lines = _lines(LEGACY_FALL)
    del lines[8]  # line 9: 29.10.2023 06:00 - 07:00 CET = 05:00Z
    with pytest.raises(PriceDataError) as caught:
        read_entsoe_day_ahead(_write(tmp_path, lines))
    error = caught.value
    assert error.line == 9
    assert error.column == "MTU (CET/CEST)"
    assert "gap in zone DE_LU: the interval starting 2023-10-29T05:00:00Z" in str(error)
    assert "(2023-10-29 06:00 CET local) is missing" in str(error)


def test_a_dst_day_missing_its_repeated_hour_is_named_as_such(tmp_path) -> None:
    lines = _lines(LEGACY_FALL)
    del lines[4]  # the second "02:00 - 03:00": the file now has 24 hours on a 25-hour day
    with pytest.raises(PriceDataError) as caught:
        read_entsoe_day_ahead(_write(tmp_path, lines))
    message = str(caught.value)
    assert "2023-10-29T01:00:00Z (2023-10-29 02:00 CET local) is missing" in message
    assert "2023-10-29 is a 25-hour fall-back DST day and needs 25 intervals of 60 min" in message


def test_an_incomplete_dst_day_at_the_edge_of_a_local_file_is_refused(tmp_path) -> None:
    lines = _lines(LEGACY_SPRING)[:-1]  # drop 23:00-00:00: 22 of the 23 hours
    with pytest.raises(PriceDataError) as caught:
        read_entsoe_day_ahead(_write(tmp_path, lines))
    message = str(caught.value)
    assert "delivery day 2023-03-26 (a 23-hour DST day) has 22 intervals of 60 min" in message
    assert "needs 23; the first missing starts 2023-03-26T21:00:00Z" in message
    assert "(2023-03-26 23:00 CEST local)" in message


def test_a_duplicate_names_the_interval_and_the_earlier_line(tmp_path) -> None:
    lines = _lines(LEGACY_FALL)
    lines.insert(8, lines[7])  # line 8 (05:00 CET) again as line 9
    with pytest.raises(PriceDataError) as caught:
        read_entsoe_day_ahead(_write(tmp_path, lines))
    assert caught.value.line == 9
    assert (
        "duplicate interval in zone DE_LU: 2023-10-29T04:00:00Z (2023-10-29 05:00 CET local) "
        "is already on line 8"
    ) in str(caught.value)
    lines = _lines(LEGACY_FALL)
    lines.insert(5, lines[4])  # a third "02:00 - 03:00"
    with pytest.raises(PriceDataError, match=r"line 6.*2023-10-29T01:00:00Z.*already on line 5"):
        read_entsoe_day_ahead(_write(tmp_path, lines))


def test_interval_off_its_grid_or_of_no_mtu_length_is_refused(tmp_path) -> None:
    off = [
        CURRENT_HEADER,
        '"01/01/2025 00:10:00 - 01/01/2025 00:25:00","BZN|FR","Without Sequence","1","",""\n',
        '"01/01/2025 00:25:00 - 01/01/2025 00:40:00","BZN|FR","Without Sequence","2","",""\n',
    ]
    with pytest.raises(PriceDataError, match=r"line 2.*00:10:00Z .* not on the 15-minute grid"):
        read_entsoe_day_ahead(_write(tmp_path, off))
    odd = [off[0], off[1].replace("00:25:00", "00:30:00")]
    with pytest.raises(PriceDataError, match=r"line 2.*lasts 20 min.*15, 30, 60 min"):
        read_entsoe_day_ahead(_write(tmp_path, odd))
    bad = [off[0], off[1].replace("01/01/2025 00:10:00", "2025-01-01 00:10")]
    with pytest.raises(PriceDataError, match=r"line 2, column 'MTU \(UTC\)'.*not an interval"):
        read_entsoe_day_ahead(_write(tmp_path, bad))


def test_missing_prices_are_refused_or_kept_as_nan_when_allowed(tmp_path) -> None:
    lines = _lines(LEGACY_FALL)
    for index, missing in ((6, '"n/e"'), (7, '""')):  # lines 7 and 8: 04:00 and 05:00 CET
        fields = lines[index].split(",")
        lines[index] = ",".join([fields[0], missing, *fields[2:]])
    path = _write(tmp_path, lines)
    with pytest.raises(PriceDataError) as caught:
        read_entsoe_day_ahead(path)
    message = str(caught.value)
    assert caught.value.line == 7
    assert caught.value.value == "n/e"
    assert "no price for the interval starting 2023-10-29T03:00:00Z" in message
    assert "2 interval(s) of the file have none (pass allow_missing=True" in message
    frame = read_entsoe_day_ahead(path, allow_missing=True)
    assert frame["price_eur_mwh"].isna().sum() == 2
    assert len(frame) == 25


def test_a_price_in_the_spring_placeholder_hour_is_refused(tmp_path) -> None:
    lines = _lines(LEGACY_SPRING)
    lines[3] = lines[3].replace('(CET/CEST)","",', '(CET/CEST)","12.5",')
    with pytest.raises(PriceDataError, match=r"line 4.*does not exist.*yet it has a price"):
        read_entsoe_day_ahead(_write(tmp_path, lines))


def test_currency_sequence_and_header_are_checked(tmp_path) -> None:
    lines = _lines(LEGACY_FALL)
    lines[3] = lines[3].replace('"EUR"', '"GBP"')
    with pytest.raises(PriceDataError, match=r"line 4, column 'Currency', value 'GBP'"):
        read_entsoe_day_ahead(_write(tmp_path, lines))
    lines = _lines(LEGACY_FALL)
    lines[0] = lines[0].replace("[EUR/MWh]", "[GBP/MWh]")
    with pytest.raises(PriceDataError, match=r"prices must be in EUR/MWh"):
        read_entsoe_day_ahead(_write(tmp_path, lines))
    with pytest.raises(PriceDataError, match=r"not an ENTSO-E day-ahead price export"):
        read_entsoe_day_ahead(_write(tmp_path, ["timestamp_utc,zone,price_eur_mwh\n"]))
    two = _lines(CURRENT_UTC)
    two += [line.replace("Without Sequence", "Sequence 2") for line in two[1:]]
    path = _write(tmp_path, two, "two.csv")
    with pytest.raises(PriceDataError, match=r"zone BE has several auctions.*pass sequence="):
        read_entsoe_day_ahead(path)
    chosen = read_entsoe_day_ahead(path, sequence="Without Sequence")
    pd.testing.assert_frame_equal(chosen, read_entsoe_day_ahead(CURRENT_UTC))


def test_unmarked_copy_of_the_repeated_hour_in_a_marked_file_is_refused(tmp_path) -> None:
    lines = _lines(CURRENT_LOCAL)
    assert read_entsoe_day_ahead(_write(tmp_path, lines)).index.is_unique
    lines[4] = lines[4].replace(" (CET)", "")  # only (CEST) left: a label, so file order
    assert len(read_entsoe_day_ahead(_write(tmp_path, lines))) == 25
    lines[5] = lines[5].replace(":00:00 - ", ":00:00 (CET) - ")  # 03:00 (CET): row markers
    with pytest.raises(PriceDataError, match=r"line 5.*marks rows \(CET\)/\(CEST\), but not"):
        read_entsoe_day_ahead(_write(tmp_path, lines))


def test_a_bom_and_a_fifteen_minute_local_fall_back_day_read(tmp_path) -> None:
    start = pd.Timestamp("2025-10-26 00:00")
    walls = [start + pd.Timedelta(minutes=15 * i) for i in range(12)]  # 00:00 .. 02:45
    walls += walls[8:] + [start + pd.Timedelta(minutes=15 * i) for i in range(12, 96)]
    rows = [
        f'"{w:%d.%m.%Y %H:%M} - {w + pd.Timedelta(minutes=15):%d.%m.%Y %H:%M}","{i}","EUR",""\n'
        for i, w in enumerate(walls)
    ]
    path = tmp_path / "q.csv"
    path.write_text("".join([LEGACY_HEADER, *rows]), encoding="utf-8-sig")
    frame = read_entsoe_day_ahead(path)
    assert len(frame) == 100
    assert frame.index[0] == _utc("2025-10-25T22:00Z")
    assert (np.diff(frame.index.asi8) == 15 * 60 * 10**9).all()
    assert frame["price_eur_mwh"].tolist() == [float(i) for i in range(100)]
