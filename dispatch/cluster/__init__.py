"""The dispatcher past one process: partition leases with fencing tokens, partitions of
the fleet and their coordinator (in process), and, with the optional ``cluster`` extra,
the same partitions as Ray actors (`dispatch.cluster.ray_run` for a simulated run,
`dispatch.cluster.ray_serve` for `vpp serve --cluster`; imported only on demand: nothing
here imports Ray)."""
