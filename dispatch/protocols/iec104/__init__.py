"""aFRR activation from a TSO over IEC 60870-5-104 (optional extra ``vpp-engine[iec104]``).

The VPP is the *controlled station* (an IEC 104 server, one per pool); the TSO's load-
frequency controller is the *controlling station* (the client). Modules, each one job:

- `points`: the points map (information object addresses and type ids), no c104;
- `ramp`: how a setpoint becomes the pool's activation request over time, no c104;
- `frames`: our own decoder of the APDUs the TSO receives (independent of c104's), no c104;
- `transport`: the only module that imports c104 (GPL-3.0), a thin layer over it;
- `station`: the VPP's station: setpoint -> the pool's `ActivationSource`, measured pool
  power -> measured values;
- `tso`: a simulated TSO (a c104 client) that sends steps and records what it reads back.

This package's `__init__` imports nothing, so that `dispatch` never pulls in c104: only a
caller that asks for `station` or `tso` needs the extra.
"""
