"""Live status: the status topic read once per gateway, fanned out to SSE streams."""
