"""The gateway's HTTP edge: routes and the mapping of domain errors to answers."""
