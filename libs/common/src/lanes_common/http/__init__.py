"""The HTTP edge that auth and the gateway share.

- `problems`: every error as RFC 9457 problem details, store outages as 503.
- `problem_docs`: how those answers are documented in OpenAPI.
- `bearer`: ``Authorization: Bearer`` read and verified, or 401 with a challenge.
- `state`: the resources a lifespan opens, handed to requests as lifespan state.
"""
