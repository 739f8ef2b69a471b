"""The five built-in market plugins. Each registers in ``vpp.markets`` like an outside one."""
