"""Device protocols: Modbus TCP transport, register codec, register maps, negotiation and the
Modbus `DeviceAdapter`.

Layering (each module one job, imports flow downwards):
transport (only pymodbus importer) -> codec -> registermap -> sunspec/negotiation -> modbus.
"""
