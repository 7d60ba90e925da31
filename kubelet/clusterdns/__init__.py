"""Cluster DNS inside the kubelet: the CoreDNS role of a Kubernetes cluster.

Pods resolve ``svc``, ``svc.ns`` and ``svc.ns.svc.cluster.local`` through a DNS server every
kubelet runs on its pod network's gateway, answering from the kubelet's own Service and
EndpointSlice informers, so a Service created after its client pod, an endpoint turning unready
or a new port shows up in the next answer. Names outside the cluster domain are forwarded to the
host's resolvers.

``records`` decides answers (pure: a name, a type and a view of the cluster in, records out),
``forward`` relays the rest upstream, ``server`` speaks the wire protocol over UDP and TCP and
``serving`` binds the gateway's port 53, taking it over when the kubelet holding it stops.
"""
