"""The auth service's HTTP edge: request and response models, routes, error mapping."""
