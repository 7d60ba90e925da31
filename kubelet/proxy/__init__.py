"""The node's service proxy (kube-proxy's nftables mode, inside the kubelet).

* :mod:`kubelet.proxy.plan` turns Services and EndpointSlices into what each service port
  sends where (pure);
* :mod:`kubelet.proxy.rules` renders that plan into one nftables table (pure);
* :mod:`kubelet.proxy.nft` writes the table in one atomic ``nft -f -`` transaction and reads
  it back to notice drift;
* :mod:`kubelet.proxy.conntrack` forgets UDP flows to removed endpoints;
* :mod:`kubelet.proxy.reconciler` keeps the kernel level with the API: informers, a debounced
  sync and a periodic check that repairs what was deleted.

Every rule is scoped to traffic entering from this node's pod network (its bridge interface),
so several clusters on one host, each with the same service CIDR, never see each other's
ClusterIPs; the table is named after the node and the bridge, so several kubelets sharing one
network each keep a table of their own.
"""
