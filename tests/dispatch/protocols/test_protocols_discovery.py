"""SunSpec discovery as an invariant: wherever the standard lets a device put its map (any of
the three bases, any chain of known and vendor models, model 1 of length 65 or 66), the probe
finds exactly the chain and the body addresses the device laid out.

One live pyModbusTCP server (not ours) whose registers are rewritten for every example; the
images come from pysunspec2's model definitions (`sunspec_peer.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sunspec_peer import END, SUNS, Peer, model_block, start_fc43_peer

from dispatch.device import MapMismatchError
from dispatch.protocols.negotiation import probe
from dispatch.protocols.transport import ModbusTransport

BASES = (40000, 0, 50000)
CLEAR = [0] * 600


@pytest.fixture(scope="module")
def peer() -> Iterator[Peer]:
    server = start_fc43_peer({}, "Nobody", "Blank", "0")
    yield server
    server.stop()


def vendor_block(model_id: int, length: int) -> list[int]:
    return [model_id, length, *([0x1234] * length)]


standard = st.sampled_from([103, 123, 124])
vendor = st.tuples(st.integers(64000, 65534), st.integers(0, 40))
chains = st.lists(st.one_of(standard, vendor), max_size=5)


def probe_once(peer: Peer) -> Any:
    async def run() -> Any:
        transport = ModbusTransport("prop", "127.0.0.1", peer.port, timeout_s=2.0)
        await transport.connect()
        try:
            return await probe(transport)
        finally:
            await transport.close()

    return asyncio.run(run())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    base=st.sampled_from(BASES),
    common_length=st.sampled_from([65, 66]),
    rest=chains,
    firmware=st.sampled_from(["1.4.2", "V01.04.02", "1.4.2-rc1", "v1.4"]),
)
def test_the_probe_finds_every_chain_the_standard_allows(
    peer: Peer, base: int, common_length: int, rest: list[Any], firmware: str
) -> None:
    for start in BASES:
        peer.bank.set_holding_registers(start, CLEAR)
    common = {"Mn": "Prop", "Md": "Any", "Vr": firmware, "SN": "P-1"}
    image = [*SUNS, *model_block(1, common, common_length)]
    expected_models = [(1, common_length)]
    expected_bodies = {1: base + 4}
    for item in rest:
        block = model_block(item, {}) if isinstance(item, int) else vendor_block(*item)
        expected_models.append((block[0], block[1]))
        expected_bodies.setdefault(block[0], base + len(image) + 2)
        image += block
    image += END
    peer.bank.set_holding_registers(base, image)
    found = probe_once(peer)
    assert found.kind == "sunspec"
    assert found.base == base
    assert found.identity.models == tuple(expected_models)
    assert found.bodies == expected_bodies
    assert (found.identity.vendor, found.identity.firmware) == ("Prop", firmware)


@pytest.mark.parametrize("bad_length", [64, 67])
def test_model_1_of_another_length_is_refused(peer: Peer, bad_length: int) -> None:
    for start in BASES:
        peer.bank.set_holding_registers(start, CLEAR)
    common = {"Mn": "Prop", "Md": "Any", "Vr": "1.0", "SN": "P-1"}
    peer.bank.set_holding_registers(40000, [*SUNS, *model_block(1, common, bad_length), *END])
    with pytest.raises(MapMismatchError, match=f"model 1 at 40002: length {bad_length}"):
        probe_once(peer)


def test_without_a_marker_at_any_base_the_device_is_asked_by_fc43(peer: Peer) -> None:
    for start in BASES:
        peer.bank.set_holding_registers(start, CLEAR)
    peer.handler.requests.clear()
    found = probe_once(peer)  # pyModbusTCP answers FC43 with the identity it was given
    assert found.kind == "fc43"
    assert (found.identity.vendor, found.identity.model) == ("Nobody", "Blank")
    assert peer.handler.requests == [("read", base, 2) for base in BASES]
