"""The simulated TSO's steps: ``MW@Ts`` sends MW [+ up] from T seconds after its start on,
``drop@Ts`` closes the link at T; comma-separated, e.g. ``2@5s,-2@205s,drop@405s``."""

from __future__ import annotations

import re
from dataclasses import dataclass

DROP = "drop"
_STEP = re.compile(r"^(?P<what>drop|[+-]?[0-9]+(?:\.[0-9]+)?)@(?P<at>[0-9]+(?:\.[0-9]+)?)s?$")


class StepSpecError(ValueError):
    """A step specification that cannot be read; the message names the part and the rule."""


@dataclass(frozen=True)
class Step:
    """Send `setpoint_mw` [MW, + up] from `at_s` [s] on; None: drop the link at `at_s`."""

    at_s: float
    setpoint_mw: float | None


def parse_steps(text: str) -> list[Step]:
    """``MW@Ts,...,drop@Ts`` (module docstring), in time order; `StepSpecError` names the
    part that is wrong."""
    steps = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        match = _STEP.match(part)
        if match is None:
            raise StepSpecError(f"step {part!r} is not MW@Ts or drop@Ts (e.g. 2.5@10s)")
        value = None if match["what"] == DROP else float(match["what"])
        steps.append(Step(float(match["at"]), value))
    if not steps:
        raise StepSpecError(f"steps {text!r}: at least one MW@Ts is needed")
    times = [s.at_s for s in steps]
    if times != sorted(times):
        raise StepSpecError(f"steps {text!r}: times must not decrease")
    if any(s.setpoint_mw is None for s in steps[:-1]):
        raise StepSpecError(f"steps {text!r}: drop must be the last step")
    return steps
