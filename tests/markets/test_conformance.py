"""The conformance kit: the built-in plugins pass it, and each kind of broken plugin fails it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time

import pytest

from markets.conformance import assert_conformant, check_plugin, default_days
from markets.countries import at, be, de, fr, nl
from markets.eu import fcr_cooperation, not_a_member, sdac_day_ahead
from markets.gates import DailyGate
from markets.kinds import Auction, AuctionSession, BalancingCapacity
from markets.plugin import MarketPlugin
from markets.reviewers import Reviewer, load_reviewers
from markets.rules import rule

PLUGINS = {p.PLUGIN.country: p.PLUGIN for p in (de, nl, be, fr, at)}
DAYS = (date(2026, 3, 29), date(2026, 6, 15), date(2026, 10, 25))
NORMAL = date(2026, 6, 15)
TZ = "Europe/Berlin"
CHECK_NAMES = {"rules", "provenance", "products", "tiling", "gates", "bounds", "gate_closure"}
CLOSES_ON_THE_DAY = AuctionSession(
    name="SDAC", gate_closure=DailyGate(days_before=0, local_time=time(12))
)
"""A day-ahead session that closes at noon on the delivery day itself, after delivery began."""


def plugin_of(*markets, cls=MarketPlugin) -> MarketPlugin:
    """A fresh DE test plugin (fresh, so it shares no product cache with the built-in one)."""
    return cls(country="DE", name="Testland", timezone=TZ, markets=markets)


def failed(report) -> set[str]:
    return {check.name for check in report.failures}


def day_ahead(**update) -> Auction:
    return sdac_day_ahead("DE", "DE_LU", TZ).model_copy(update=update)


@pytest.fixture(scope="module", params=sorted(PLUGINS))
def builtin_report(request):
    return check_plugin(PLUGINS[request.param], DAYS)


def test_every_built_in_country_passes_the_kit_on_dst_days_and_mid_june(builtin_report):
    assert builtin_report.passed, "\n".join(map(str, builtin_report.failures))
    assert builtin_report.days == DAYS
    assert {c.name for c in builtin_report.checks} == CHECK_NAMES
    assert {c.day for c in builtin_report.checks if c.name == "tiling"} == set(DAYS)
    # Every market is checked on every day, and each market's bounds are probed.
    tiled = {(c.day, c.market) for c in builtin_report.checks if c.name == "tiling"}
    assert len(tiled) == 3 * 6
    assert builtin_report.summary().startswith(f"{builtin_report.country}: all ")


def test_the_kit_lists_the_uncertain_rules_it_found(builtin_report):
    assert builtin_report.uncertain_rules
    assert any(r.startswith("day_ahead.price_tick") for r in builtin_report.uncertain_rules)


@pytest.mark.parametrize("country", sorted(PLUGINS))
def test_assert_conformant_with_explicit_days_returns_the_passing_report(country):
    report = assert_conformant(PLUGINS[country], [date(2025, 3, 30), date(2025, 10, 26)])
    assert report.passed
    assert report.country == country


def test_the_default_days_are_both_dst_days_and_mid_june():
    assert default_days(PLUGINS["DE"], 2026) == DAYS
    assert default_days(PLUGINS["FR"], 2027) == (
        date(2027, 3, 28),
        date(2027, 6, 15),
        date(2027, 10, 31),
    )


def test_a_clean_test_plugin_passes_so_each_failure_below_is_its_own_defect():
    assert check_plugin(plugin_of(day_ahead(), fcr_cooperation("DE", "DE_LU", TZ)), DAYS).passed


# --- broken plugins ----------------------------------------------------------------------


def test_a_day_ahead_closing_at_noon_on_the_delivery_day_fails_the_gates_check():
    broken = day_ahead(sessions=(rule((CLOSES_ON_THE_DAY,), "2022-01-01", "test: closes on D"),))
    report = check_plugin(plugin_of(broken), [NORMAL])
    assert failed(report) == {"gates"}
    (failure,) = report.failures
    assert failure.market == "day_ahead"
    assert failure.day == NORMAL
    assert "closes 2026-06-15T10:00:00Z after delivery starts" in failure.detail


def test_a_rule_whose_source_is_blank_fails_the_rules_check():
    broken = day_ahead(price_tick=(rule(0.01, "2022-01-01", "   "),))
    report = check_plugin(plugin_of(broken), [NORMAL])
    assert failed(report) == {"provenance"}
    assert "DE:day_ahead:price_tick:2022-01-01:2026-11-22: no source" in report.failures[0].detail


def test_a_history_out_of_date_order_fails_the_rules_check():
    broken = day_ahead(
        price_max=(rule(4000.0, "2022-05-10", "EXAA"), rule(3000.0, "2022-01-01", "EXAA"))
    )
    report = check_plugin(plugin_of(broken), [NORMAL])
    assert failed(report) == {"rules"}
    assert "day_ahead.price_max: valid_from dates out of order" in report.failures[0].detail


class DroppingAuction(Auction):
    """Loses the quarter hour 10:00-10:15 local in its product expansion."""

    def _slots(self, day, rules):
        slots = super()._slots(day, rules)
        return slots[:40] + slots[41:]


def test_a_market_whose_expansion_drops_a_slot_fails_the_tiling_check():
    broken = DroppingAuction(**dict(day_ahead()))
    assert len(broken.products(NORMAL)) == 95
    report = check_plugin(plugin_of(broken), [NORMAL])
    assert failed(report) == {"tiling"}
    assert "SDAC gap 2026-06-15T08:00:00Z-2026-06-15T08:15:00Z" in report.failures[0].detail


class ShortDayAuction(Auction):
    """Stops an hour before the end of the delivery day."""

    def _slots(self, day, rules):
        return super()._slots(day, rules)[:-4]


def test_a_market_that_stops_before_the_end_of_the_day_fails_the_tiling_check():
    report = check_plugin(plugin_of(ShortDayAuction(**dict(day_ahead()))), [NORMAL])
    assert failed(report) == {"tiling"}
    assert "SDAC ends 2026-06-15T21:00:00Z, not 2026-06-15T22:00:00Z" in report.failures[0].detail


class LenientPlugin(MarketPlugin):
    """Forgets to enforce the price cap."""

    def validate(self, bid, *, now):
        return [v for v in super().validate(bid, now=now) if not v.rule.endswith(".price_max")]


def test_a_plugin_whose_validation_does_not_enforce_the_price_cap_fails_the_bounds_check():
    report = check_plugin(plugin_of(day_ahead(), cls=LenientPlugin), [NORMAL])
    assert failed(report) == {"bounds"}
    (failure,) = report.failures
    assert failure.market == "day_ahead"
    assert "one tick past price_max is not refused by price_max" in failure.detail


class LatePlugin(MarketPlugin):
    """Accepts bids after gate closure."""

    def validate(self, bid, *, now):
        return [v for v in super().validate(bid, now=now) if not v.rule.endswith(".gate_closure")]


def test_a_plugin_that_accepts_late_bids_fails_the_gate_closure_check():
    report = check_plugin(plugin_of(fcr_cooperation("DE", "DE_LU", TZ), cls=LatePlugin), [NORMAL])
    assert failed(report) == {"gate_closure"}
    assert "a bid 1 s after gate closure 2026-06-14T06:00:00Z is accepted" in (
        report.failures[0].detail
    )


def test_a_market_with_a_parameter_not_yet_in_force_fails_the_products_check():
    broken = day_ahead(mtu_minutes=(rule(15, "2027-01-01", "test: starts too late"),))
    report = check_plugin(plugin_of(broken), [NORMAL])
    assert failed(report) == {"products"}
    assert "MissingRuleError" in report.failures[0].detail
    assert "no mtu_minutes rule is in force on 2026-06-15" in report.failures[0].detail


def test_assert_conformant_raises_listing_every_failed_check():
    broken = day_ahead(
        sessions=(rule((CLOSES_ON_THE_DAY,), "2022-01-01", "test"),),
        price_tick=(rule(0.01, "2022-01-01", " "),),
    )
    with pytest.raises(AssertionError) as caught:
        assert_conformant(plugin_of(broken), [NORMAL])
    message = str(caught.value)
    assert "DE: 2 of" in message
    assert "FAIL provenance" in message
    assert "FAIL gates" in message


class ZeroLengthBlock(BalancingCapacity):
    """Adds an empty block at 04:00 local, as an hourly grid in the spring gap once did."""

    def _slots(self, day, rules):
        slots = super()._slots(day, rules)
        empty = replace(slots[1], end=slots[1].start)
        return [slots[0], empty, *slots[1:]]


def test_a_zero_length_block_with_a_duplicate_id_fails_the_kit():
    broken = ZeroLengthBlock(**dict(fcr_cooperation("DE", "DE_LU", TZ)))
    products = broken.products(NORMAL)
    assert len(products) == 7
    assert len({p.product_id for p in products}) == 6
    assert not check_plugin(plugin_of(broken), [NORMAL]).passed


def test_a_plugin_copied_with_other_markets_uses_its_own_rules():
    original = plugin_of(day_ahead())
    assert original.products(NORMAL, "day_ahead")[0].price_max == 4000.0
    capped = original.model_copy(
        update={"markets": (day_ahead(price_max=(rule(100.0, "2022-01-01", "test cap"),)),)}
    )
    assert capped.products(NORMAL, "day_ahead")[0].price_max == 100.0


def _hourly_fcr() -> BalancingCapacity:
    return fcr_cooperation("DE", "DE_LU", TZ).model_copy(
        update={"block_hours": (rule(1, "2022-01-01", "test: hourly blocks"),)}
    )


def test_hourly_blocks_give_25_products_on_the_october_dst_day_and_pass_the_kit():
    hourly = _hourly_fcr()
    by_day = {day: hourly.products(day) for day in DAYS}
    directions = len({p.direction for p in by_day[NORMAL]})
    assert [len(by_day[day]) // directions for day in DAYS] == [23, 24, 25]
    assert all(p.duration_minutes == 60 for day in DAYS for p in by_day[day])
    assert check_plugin(plugin_of(day_ahead(), hourly), list(DAYS)).passed


class TwoHourAutumnBlock(BalancingCapacity):
    """Hourly blocks cut by the wall clock: the repeated autumn hour joins its neighbour."""

    def _slots(self, day, rules):
        slots = super()._slots(day, rules)
        merged, skip = [], False
        for slot, following in zip(slots, [*slots[1:], None], strict=True):
            if skip:
                skip = False
                continue
            if (
                day == DAYS[-1]
                and following is not None
                and slot.start.hour == 0
                and (following.direction == slot.direction)
            ):
                merged.append(replace(slot, end=following.end))
                skip = True
                continue
            merged.append(slot)
        return merged


def test_an_hourly_plugin_whose_october_day_is_not_25_products_fails_the_kit():
    broken = TwoHourAutumnBlock(**dict(_hourly_fcr()))
    autumn = broken.products(DAYS[-1])
    assert any(p.duration_minutes == 120 for p in autumn)
    report = check_plugin(plugin_of(day_ahead(), broken), [DAYS[-1]])
    assert "tiling" in failed(report)
    (tiling,) = [c for c in report.checks if c.name == "tiling" and not c.passed]
    assert "blocks of 1 h expected" in tiling.detail
    assert "lasts 120 min" in tiling.detail


@pytest.mark.parametrize("hours", [5, 7, 0])
def test_a_block_length_that_does_not_divide_the_day_is_refused_when_loaded(hours):
    with pytest.raises(ValueError, match=rf"block_hours={hours} \(rule valid from 2022-01-01"):
        fcr_cooperation("DE", "DE_LU", TZ).model_validate(
            {
                **dict(fcr_cooperation("DE", "DE_LU", TZ)),
                "block_hours": (rule(hours, "2022-01-01", "test"),),
            }
        )


def test_a_bad_date_in_a_rule_names_the_rule_and_the_text():
    with pytest.raises(ValueError, match=r"rule 15 from 'EPEX rule book'.*valid_from='2025-13-01'"):
        rule(15, "2025-13-01", "EPEX rule book")


def test_a_country_outside_a_cooperation_says_so_in_one_line_and_passes_the_kit():
    outside = not_a_member(
        fcr_cooperation("DE", "DE_LU", TZ), "FCR Cooperation", "test: members list"
    )
    plugin = plugin_of(day_ahead(), outside)
    assert check_plugin(plugin, list(DAYS)).passed
    assert plugin.products(NORMAL, "fcr_capacity") == []
    member = fcr_cooperation("DE", "DE_LU", TZ).products(NORMAL)[0]
    assert plugin.product(member.product_id) is None
    why = plugin.why_unknown(member.product_id)
    assert "fcr_capacity market does not run for delivery day 2026-06-15" in why
    assert "not a member of the FCR Cooperation (source: test: members list)" in why


# --- provenance --------------------------------------------------------------------------


def test_a_rule_recorded_now_without_provenance_fails_the_provenance_check():
    bare = rule(0.01, "2022-01-01", "Nord Pool", recorded_at="2026-12-10")
    report = check_plugin(plugin_of(day_ahead(price_tick=(bare,))), [NORMAL])
    assert failed(report) == {"provenance"}
    detail = report.failures[0].detail
    assert detail.startswith("DE:day_ahead:price_tick:2022-01-01:2026-12-10: no reference")
    for lack in ("no retrieved_on date", "no recorded_by", "no approved_by"):
        assert lack in detail


B_REVIEWER = (*load_reviewers(), Reviewer("B. Reviewer", "test reviewer", date(2026, 12, 1)))
"""The project's reviewers (who approved the audited EU records) and a test reviewer."""


def _approved_by(approver: str, author: str = "A. Author") -> MarketPlugin:
    sourced = rule(
        0.01,
        "2022-01-01",
        "Nord Pool: day-ahead trading rules",
        recorded_at="2026-12-10",
        reference="https://www.nordpoolgroup.com/en/trading/Day-ahead-trading/",
        retrieved_on="2026-12-09",
        recorded_by=author,
        approved_by=approver,
    )
    return plugin_of(day_ahead(price_tick=(sourced,)))


def test_the_same_rule_with_full_provenance_passes():
    assert check_plugin(_approved_by("B. Reviewer"), [NORMAL], reviewers=B_REVIEWER).passed


def test_a_rule_approved_by_someone_not_in_the_reviewers_list_fails():
    report = check_plugin(_approved_by("C. Stranger"), [NORMAL], reviewers=B_REVIEWER)
    assert failed(report) == {"provenance"}
    assert "approved_by='C. Stranger' names no registered reviewer" in report.failures[0].detail
    assert "registered: vpp-engine coordinator, B. Reviewer" in report.failures[0].detail


def test_a_reviewer_approving_their_own_record_in_another_capacity_fails_four_eyes():
    plugin = _approved_by("B. Reviewer (merge review)", author="B. Reviewer (author)")
    report = check_plugin(plugin, [NORMAL], reviewers=B_REVIEWER)
    assert failed(report) == {"provenance"}
    assert "is the author" in report.failures[0].detail


def test_a_reviewer_registered_after_the_record_was_recorded_cannot_have_approved_it():
    late = (*load_reviewers(), Reviewer("B. Reviewer", "test reviewer", date(2026, 12, 20)))
    report = check_plugin(_approved_by("B. Reviewer"), [NORMAL], reviewers=late)
    assert "was not a registered reviewer on 2026-12-10" in report.failures[0].detail


def test_every_built_in_approval_names_a_reviewer_of_the_projects_list():
    for plugin in PLUGINS.values():
        assert "provenance" not in failed(check_plugin(plugin, [NORMAL]))


def test_an_uncertain_rule_without_a_review_date_fails_even_when_recorded_long_ago():
    unsure = rule(0.01, "2022-01-01", "Nord Pool", "uncertain", "tick unclear")
    report = check_plugin(plugin_of(day_ahead(price_tick=(unsure,))), [NORMAL])
    assert failed(report) == {"provenance"}
    assert "uncertain without a review_by date" in report.failures[0].detail
    dated = rule(
        0.01, "2022-01-01", "Nord Pool", "uncertain", "tick unclear", review_by="2027-01-31"
    )
    report = check_plugin(plugin_of(day_ahead(price_tick=(dated,))), [NORMAL])
    assert report.passed
    assert any("review by 2027-01-31" in line for line in report.uncertain_rules)


def test_strict_mode_asks_every_record_for_a_reference():
    report = check_plugin(PLUGINS["DE"], [NORMAL], strict=True)
    assert failed(report) == {"provenance"}
    assert "no reference" in report.failures[0].detail
    assert check_plugin(PLUGINS["DE"], [NORMAL]).legacy_without_reference > 0


def test_a_record_approved_by_its_own_author_is_refused_when_loaded():
    with pytest.raises(ValueError, match="four eyes"):
        rule(1.0, "2022-01-01", "EPEX", recorded_by="Ann Lee", approved_by=" ann  lee ")


def test_two_records_believed_at_once_for_the_same_day_fail_the_rules_check():
    twins = (
        rule(0.01, "2022-01-01", "Nord Pool"),
        rule(0.1, "2022-01-01", "EPEX", recorded_at="2026-12-01"),
    )
    report = check_plugin(plugin_of(day_ahead(price_tick=twins)), [NORMAL])
    assert "rules" in failed(report)
    assert "a correction must name the record it corrects" in report.failures[0].detail
