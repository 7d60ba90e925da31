"""Authentication: who sent a request (kube-apiserver's authenticator chain)."""
