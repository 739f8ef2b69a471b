"""Simulated devices: clock-free physics and pymodbus servers exposing it over Modbus TCP."""
