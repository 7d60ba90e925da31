"""ClusterIPs and node ports for Services: the ranges, the store-backed allocator, the hooks
the registry calls around a Service's writes, and the repair loop (see each module)."""
