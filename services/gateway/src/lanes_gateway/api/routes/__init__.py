"""One module per resource of the gateway's API."""
