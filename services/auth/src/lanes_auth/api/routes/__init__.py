"""One module per resource: ``auth`` (accounts and tokens) and ``jwks`` (public keys)."""
