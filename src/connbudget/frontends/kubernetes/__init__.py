"""Kubernetes manifests: Deployments, StatefulSets, HPAs, KEDA ScaledObjects and ConfigMaps.

YAML is read as a stream of parser events and composed, without recursion, into plain values
that remember their line; limits keep hostile input cheap. Secret values are never read.
"""
