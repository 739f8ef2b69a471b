"""The CI end-to-end day (issue 16, item 10): 50 assets over Modbus, the TSO over IEC 104.

One compressed delivery day through the public path, `vpp simulate --day ... --json` in a
subprocess: the virtual trader plans D-1 and submits through the API's submission path,
the simulated exchange clears every gate, the schedule builder allocates the positions,
and two dispatcher pools (DE_LU and NL) drive 50 plant-scale Modbus TCP simulators
(`examples/portfolio_e2e_50.yaml`) through the Modbus client path real devices take. The
aFRR activation comes from a simulated TSO over IEC 60870-5-104 to each pool's station
where the extra (c104) is installed, from the loopback source otherwise: the same run
either way, not a skip.

During the run (seconds of the delivery day, on a clock `SPEED` times real time):

- at `TRIP_S` one battery trips: the dispatcher finds it lost, the trader re-plans without
  it and trades the correction on continuous intraday, a new schedule version is issued;
- at `FLAG_S` an admin's change switches the NL pool's ``afrr_activation`` flag off: from
  then on the pool holds its schedule, and what the TSO still asks is settled as imbalance.

Checked: every ISP metered in both pools; delivered energy follows the positions (plus the
activation followed) within `FOLLOW_SHARE` over the run and `ISP_SHARE` in each ISP, and the
devices' total stays within `TRUTH_RMS_MW` of the pool's target; the re-plan and the
correction; the NL pool follows the activation in the quarter hour before the flag
(delivered - scheduled the activation's way, by at least half of it) and not in the one
after (nearer 0 than the activation), and what it did not deliver is settled as imbalance;
the books add up to the cent.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from trading.engine.activation import PATTERN_FILE
from trading.samples import SAMPLE_PRICE_DAY

REPO = Path(__file__).resolve().parents[2]
PORTFOLIO = REPO / "examples" / "portfolio_e2e_50.yaml"
SHARED_DATA = Path(os.environ.get("VPP_SHARED_DATA", REPO.parent / "shared" / "data"))
"""Where `vpp simulate` looks for the real German activation pattern (as the CLI does)."""

TSO = "iec104" if importlib.util.find_spec("c104") is not None else "loopback"
"""The TSO over IEC 104 where the extra is installed, the loopback source otherwise."""
SPEED = 18.0
"""Simulated seconds per real one, with `TICK_S`: 50 Modbus simulators and their clients
share one process, so the Modbus requests per real second grow with SPEED / TICK_S; at 4
(x20, 5 s) the readings went stale on a loaded 2-core machine and the pools overshot
(docs/engine.md). At 1.2 (x12 / 10 s, or x18 / 15 s) no tick was missed."""
TICK_S = 15.0
HOURS = 0.75
"""Three ISPs: the trip and its correction in the first two, the flag off for the third."""
TRIP_S = 300.0
"""The trip [s of the day]: found lost two engine rounds (60 s each) later, the correction
then trades the ISPs whose continuous-intraday gate is still open (from 00:15 local)."""
FLAG_S = 1780.0
"""The NL pool's ``afrr_activation`` flag goes off [s of the day]: 20 s before the third ISP,
so that it is off for the whole of it although a scaled clock's sleeps wake a little late."""
FOLLOW_SHARE = 0.05
"""Per pool, the sum over ISPs of |delivered - position - activation followed| may be at
most this share of the sum of |position| (delivered: the simulators' physics)."""
ISP_SHARE = 0.03
"""Per pool and ISP, |delivered - scheduled - activation followed| may be at most this share
of |position|. Since the PI's integral gain is bounded per tick (`PoolConfig.
max_ki_per_tick`) it was at most 1.3 % (0.037 of 2.8 MWh) in six runs at load 3 to 8; before,
the pool swung around its target and an ISP was off by up to 0.21 MWh (NL took on 0.246 MWh
of aFRR and moved 0.059-0.195 of it): each of three runs failed this."""
TRUTH_RMS_MW = 3.0
"""Per pool and ISP, the devices' physical total may be at most this far from the pool's
target, RMS over the ISP's ticks [MW] (`truth_rms_mw_by_isp`): 0.5-2.0 MW at load 3 to 8
(the lag after each activation step, the first contacts under load), 7.9-10.4 MW when the
pool swung between 1 and 31 MW around 15 MW."""


def _run(folder: Path) -> tuple[dict[str, Any], float]:
    """The run's report (also kept as ``report.json`` in `folder` for a failure's study)
    and its wall time [s]."""
    command = [sys.executable, "-m", "trading.cli", "simulate", "--day", SAMPLE_PRICE_DAY]
    command += ["--portfolio", str(PORTFOLIO), "--modbus", "--speed", f"{SPEED:g}"]
    command += ["--tick", f"{TICK_S:g}", "--hours", f"{HOURS:g}", "--tso", TSO]
    command += ["--faults", f"trip:1/battery@{TRIP_S:g}s"]
    command += ["--flag", f"NL:afrr_activation=off@{FLAG_S:g}s"]
    command += ["--no-baseline", "--rows", "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    wall = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-3000:]
    text = done.stdout[done.stdout.index("{") :]
    (folder / "report.json").write_text(text, "utf-8")
    return json.loads(text), wall


def test_a_compressed_day_of_50_modbus_assets_with_a_trip_and_a_flag_switched_off(
    tmp_path: Path,
) -> None:
    report, wall = _run(tmp_path)
    print(f"e2e day: {wall:.0f} s wall, tso {TSO}")  # shown with -s / in CI logs
    isps = round(HOURS * 4)
    rows = report["isp_rows"]

    assert report["fleet"] == "modbus"
    assert report["isps"] == isps
    assert sorted(report["per_zone"]) == ["DE_LU", "NL"]
    dispatched = sum(sum(z["states"].values()) for z in report["per_zone"].values())
    assert dispatched == 50  # every asset of the portfolio, each in one pool

    # every ISP metered, in both pools
    for zone, figures in report["per_zone"].items():
        assert figures["isps_metered"] == isps, (zone, figures)
        assert sorted(r["start"] for r in rows if r["zone"] == zone) == sorted(
            {r["start"] for r in rows}
        )

    # the activation came over the link asked for
    assert report["tso"]["link"] == TSO
    if TSO == "iec104":
        links = report["tso"]["zones"]
        assert links, "no pool holds a band: nothing went over IEC 104"
        for zone, link in links.items():
            assert link["error"] is None, (zone, link)
            assert link["setpoints_sent"] > 0, (zone, link)
            # each setpoint confirmed positively on the wire, read by our own decoder
            assert link["refused_on_the_wire"] == 0, (zone, link)
            assert link["confirmed_on_the_wire"] >= 0.95 * link["setpoints_sent"], (zone, link)
            assert link["frame_errors"] == 0, (zone, link)
            assert link["measured_values_good"] > 0, (zone, link)
            assert link["events"][0] == "tso_connected", (zone, link)

    # delivered energy follows the positions (plus the activation the pool followed)
    for zone, figures in report["per_zone"].items():
        mine = [r for r in rows if r["zone"] == zone]
        followed = figures["afrr_followed_by_isp_mwh"]
        off = sum(
            abs(r["delivered_mwh"] - r["position_mwh"] - a)
            for r, a in zip(mine, followed, strict=True)
        )
        scale = sum(abs(r["position_mwh"]) for r in mine)
        assert off <= FOLLOW_SHARE * scale, (zone, off, scale, mine)
        # and per ISP: the activation the pool took on is what its devices moved, and
        # their total stayed near the pool's target tick by tick
        rms_by_isp = figures["truth_rms_mw_by_isp"]
        for r, taken, rms in zip(mine, followed, rms_by_isp, strict=True):
            moved = r["delivered_mwh"] - r["scheduled_mwh"]
            assert abs(moved - taken) <= ISP_SHARE * abs(r["position_mwh"]), (zone, r, taken)
            assert rms is not None, (zone, r, rms_by_isp)
            assert rms <= TRUTH_RMS_MW, (zone, r, rms_by_isp)

    # the trip: found lost, re-planned without it, corrected on continuous intraday
    (fault,) = report["faults"]
    assert fault["kind"] == "trip"
    assert fault["kind_of_asset"] == "battery"
    assert fault["asset"] in report["lost_assets"]
    # (an asset that answers late at the start under load may be judged lost too: the
    # correction for the trip is the one naming it)
    (correction,) = [c for c in report["corrections"] if fault["asset"] in c["lost_assets"]]
    assert correction["orders"] > 0
    versions = report["schedule_versions"]
    assert [v["version"] for v in versions][:2] == [1, 2]
    assert any(fault["asset"] in v["reason"] for v in versions[1:])  # the re-plan
    assert "intraday_continuous" in report["revenue_by_market"]

    # the flag: NL follows the activation before it goes off and not after
    (change,) = report["flag_changes"]
    assert (change["pool"], change["flag"], change["value"]) == ("NL", "afrr_activation", "off")
    nl = [r for r in rows if r["zone"] == "NL"]
    followed = report["per_zone"]["NL"]["afrr_followed_by_isp_mwh"]
    first_off = math.ceil(FLAG_S / 900)
    # before: the quarter hour before the flag's (the first one is the fleet's start)
    before, after = nl[first_off - 1 : first_off], nl[first_off:]
    assert after
    assert all(f == 0.0 for f in followed[first_off:])
    if (SHARED_DATA / PATTERN_FILE).is_file():  # the real German activation pattern
        asked_before = sum(abs(r["afrr_requested_mwh"]) for r in before)
        asked_after = sum(abs(r["afrr_requested_mwh"]) for r in after)
        assert asked_before > 0.05, before
        assert asked_after > 0.05, after
        # Whether the pool followed: delivered - scheduled moved the activation's way, by
        # at least half of what was asked (how far, ISP by ISP, is held above: in CI it
        # once moved 0.052-0.069 of 0.264 MWh asked while it took on 0.246, the residue of
        # the pool swinging around its target, see ISP_SHARE). After the flag, it must not
        # move at all.
        for r in before:
            moved, asked = r["delivered_mwh"] - r["scheduled_mwh"], r["afrr_requested_mwh"]
            assert moved * asked > 0, ("followed", r)
            assert abs(moved) >= 0.5 * abs(asked), ("followed", r)
        for r in after:  # the pool holds its schedule although the TSO still asks
            moved = r["delivered_mwh"] - r["scheduled_mwh"]
            assert abs(moved) < abs(moved - r["afrr_requested_mwh"]), ("held", r)
        # and what it did not deliver is imbalance: imbalance = delivered - position - asked
        for r in after:
            expected = r["delivered_mwh"] - r["position_mwh"] - r["afrr_requested_mwh"]
            assert r["imbalance_mwh"] == pytest.approx(expected, abs=2e-6)
    else:  # no pattern: no activation at all, and the report says why
        assert report["afrr"]["requested_mwh"] == 0.0
        assert any("not found" in note for note in report["notes"])

    # the books add up to the cent
    books = report["books"]
    cents = round(books["revenue_eur"] * 100) - round(books["costs_eur"] * 100)
    assert round(books["net_eur"] * 100) == cents - round(books["imbalance_cost_eur"] * 100)
    assert books["revenue_eur"] == pytest.approx(sum(books["revenue_by_market"].values()))
    assert report["net_eur"] == books["net_eur"]
    assert books["imbalance_cost_eur"] == pytest.approx(
        -sum(r["imbalance_eur"] for r in rows), abs=0.01 * len(rows)
    )
