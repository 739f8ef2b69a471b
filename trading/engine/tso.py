"""Where the engine's aFRR activation comes from: the loopback pattern, or a TSO over IEC 104.

``loopback`` (the default) is the real German activation pattern of the shared data
(`trading.engine.activation.PatternActivation`), played on the band sold. ``iec104`` makes
each pool an IEC 60870-5-104 controlled station that a TSO's client connects to
(`dispatch.protocols.iec104.links.StationLinks`): its setpoints become the pool's
activation, clamped to the band sold, and the measured pool power and available band are
read back. c104 is GPL-3.0 and an optional extra (``vpp-engine[iec104]``): the core never
imports it, and this module loads the links by name only when ``iec104`` is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any, Literal, Protocol

from dispatch.activation import ActivationSource
from dispatch.clock import DispatchClock

TsoKind = Literal["loopback", "iec104"]
TSO_KINDS: tuple[str, ...] = ("loopback", "iec104")
LINKS_MODULE = "dispatch.protocols.iec104.links"


class TsoLink(Protocol):
    """The TSO's link to a server's pools (`StationLinks` for IEC 104)."""

    kind: str

    def source(self, tenant: str, zone: str, clock: DispatchClock) -> ActivationSource:
        """The pool's activation source (its station, started the first time)."""
        ...

    def attach(self, tenant: str, zone: str, pool: Any) -> None:
        """Serve the pool's dispatcher pool (each day's in turn)."""
        ...

    def status(self, tenant: str) -> dict[str, Any]:
        """The tenant's pools' links, for `GET /v1/engine`."""
        ...

    def close(self) -> None:
        """Close every link."""
        ...


def load_tso_link(kind: str, host: str, port: int) -> TsoLink | None:
    """The link of `kind` (None for ``loopback``: the pattern, no TSO). `ValueError`
    naming the setting and the rule if `kind` is unknown or the iec104 extra is missing."""
    if kind not in TSO_KINDS:
        raise ValueError(f"tso={kind!r} must be one of {', '.join(TSO_KINDS)}")
    if kind == "loopback":
        return None
    try:
        module = importlib.import_module(LINKS_MODULE)
    except ImportError as exc:
        raise ValueError(
            f"tso={kind!r} needs the optional extra: pip install 'vpp-engine[iec104]' ({exc})"
        ) from None
    link: TsoLink = module.StationLinks(host, port)
    return link
