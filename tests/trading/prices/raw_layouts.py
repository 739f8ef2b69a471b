"""Render a zone's prices into the raw layouts publishers export, byte for byte as they do.

No genuine SMARD or ENTSO-E download is on this machine; the tests write files in the exact
published layouts (headers, separators, decimal commas, local CET/CEST clock, the repeated
and the missing DST hour) from prices they know, so a reader's output can be compared with
what went in. ``None`` in `prices` writes the publisher's "no price" mark.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

BERLIN = "Europe/Berlin"
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _de(value: float | None) -> str:
    """German number: decimal comma, '.' for thousands (as SMARD writes 1.234,56)."""
    if value is None or pd.isna(value):
        return "-"
    text = f"{value:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return text.rstrip("0").rstrip(",") if "," in text else text


def _en(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "-"
    return f"{value:,.2f}"


def _en_time(moment: pd.Timestamp, with_date: bool = True) -> str:
    hour = moment.hour % 12 or 12
    clock = f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"
    if not with_date:
        return clock
    return f"{_MONTHS[moment.month - 1]} {moment.day}, {moment.year} {clock}"


def write_smard_hourly_de(
    prices: pd.Series, path: Path, column: str = "Deutschland/Luxemburg"
) -> Path:
    """``Datum;Anfang;Ende;<zone> [€/MWh] Originalauflösungen;...`` (2021-2025 downloads)."""
    lines = [
        f"Datum;Anfang;Ende;{column} [€/MWh] Originalauflösungen;"
        "∅ Anrainer DE/LU [€/MWh] Originalauflösungen;Polen [€/MWh] Originalauflösungen"
    ]
    for start, value in prices.items():
        local = start.tz_convert(BERLIN)
        end = local.tz_localize(None) + pd.Timedelta(hours=1)  # the hour's label, as listed
        lines.append(f"{local:%d.%m.%Y};{local:%H:%M};{end:%H:%M};{_de(value)};{_de(value)};-")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def write_smard_15min_en(prices: pd.Series, path: Path) -> Path:
    """``Start date;End date;Germany/Luxembourg [€/MWh] Original resolutions`` (English)."""
    lines = [
        "Start date;End date;Germany/Luxembourg [€/MWh] Original resolutions;"
        "Poland [€/MWh] Original resolutions"
    ]
    for start, value in prices.items():
        local = start.tz_convert(BERLIN)
        end = (start + pd.Timedelta(minutes=15)).tz_convert(BERLIN)
        lines.append(f"{_en_time(local)};{_en_time(end)};{_en(value)};-")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_smard_old_de(de_lu: pd.Series, de_at_lu: pd.Series, path: Path) -> Path:
    """``Datum;Uhrzeit;Deutschland/Luxemburg[Euro/MWh];...;Deutschland/Österreich/
    Luxemburg[Euro/MWh]`` (downloads until about 2020; both German zones side by side)."""
    lines = [
        "Datum;Uhrzeit;Deutschland/Luxemburg[Euro/MWh];Dänemark 1[Euro/MWh];"
        "Niederlande[Euro/MWh];Österreich[Euro/MWh];Deutschland/Österreich/Luxemburg[Euro/MWh]"
    ]
    index = de_lu.index.union(de_at_lu.index)
    for start in index:
        local = start.tz_convert(BERLIN)
        lines.append(
            f"{local:%d.%m.%Y};{local:%H:%M};{_de(de_lu.get(start))};21,8;-;-;"
            f"{_de(de_at_lu.get(start))}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _entsoe_interval(start: pd.Timestamp, minutes: int, utc: bool) -> str:
    end = start + pd.Timedelta(minutes=minutes)
    if utc:
        return f"{start:%d/%m/%Y %H:%M:%S} - {end:%d/%m/%Y %H:%M:%S}"
    a = start.tz_convert(BERLIN).tz_localize(None)
    b = a + pd.Timedelta(minutes=minutes)  # the wall-clock label, as the platform lists it
    return f"{a:%d.%m.%Y %H:%M} - {b:%d.%m.%Y %H:%M}"


def write_entsoe_legacy(prices: pd.Series, path: Path, zone: str, minutes: int = 60) -> Path:
    """``"MTU (CET/CEST)","Day-ahead Price [EUR/MWh]","Currency","BZN|<zone>"`` with the
    spring-forward hour as an empty placeholder row, as the platform listed it."""
    lines = [f'"MTU (CET/CEST)","Day-ahead Price [EUR/MWh]","Currency","BZN|{zone}"']
    previous: pd.Timestamp | None = None
    for start, value in prices.items():
        local = start.tz_convert(BERLIN)
        if previous is not None and local.utcoffset() > previous.utcoffset() and local.hour == 3:
            stamp = f"{local:%d.%m.%Y} 02:00 - {local:%d.%m.%Y} 03:00"
            lines.append(f'"{stamp}","","",""')  # the hour that does not exist
        previous = local
        price = "n/e" if value is None or pd.isna(value) else f"{value:.2f}"
        lines.append(f'"{_entsoe_interval(start, minutes, False)}","{price}","EUR",""')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_entsoe_current(prices: pd.Series, path: Path, zone: str, minutes: int = 60) -> Path:
    """``"MTU (UTC)","Area","Sequence","Day-ahead Price (EUR/MWh)",...`` (new platform UI)."""
    lines = [
        '"MTU (UTC)","Area","Sequence","Day-ahead Price (EUR/MWh)",'
        '"Intraday Period (UTC)","Intraday Price (EUR/MWh)"'
    ]
    for start, value in prices.items():
        price = "n/e" if value is None or pd.isna(value) else f"{value:.2f}"
        lines.append(
            f'"{_entsoe_interval(start, minutes, True)}","BZN|{zone}","Without Sequence",'
            f'"{price}","",""'
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


AFRR_HEADER = (
    "Date;Time of day;Volume activated (+)[MWh];Volume activated (-)[MWh];"
    "Activation price (+)[€/MWh];Activation price (-)[€/MWh];Volume procured (+)[MW];"
    "Volume procured (-)[MW];Procurement price (+)[€/MW];Procurement price (-)[€/MW]"
)
AFRR_COLUMNS = (
    "activated_volume_pos_mwh",
    "activated_volume_neg_mwh",
    "activation_price_pos_eur_mwh",
    "activation_price_neg_eur_mwh",
    "procured_capacity_pos_mw",
    "procured_capacity_neg_mw",
    "capacity_price_pos_eur_mw",
    "capacity_price_neg_eur_mw",
)


def _en_cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return "-"
    number = float(value)
    return f"{number:,.0f}" if number == int(number) else f"{number:,.2f}".rstrip("0")


def write_smard_afrr_en(long: pd.DataFrame, path: Path) -> Path:
    """SMARD's English "Automatic Frequency Restoration Reserve" export from rows of the
    long balancing layout (``timestamp_utc`` and `AFRR_COLUMNS`), ``1,234`` thousands."""
    lines = [AFRR_HEADER]
    for _, row in long.iterrows():
        local = pd.Timestamp(row["timestamp_utc"]).tz_convert(BERLIN)
        cells = [_en_cell(row[c]) for c in AFRR_COLUMNS]
        day = f"{_MONTHS[local.month - 1]} {local.day}, {local.year}"
        lines.append(";".join([day, _en_time(local, with_date=False), *cells]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
