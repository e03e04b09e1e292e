"""What the Lanes services share: settings, schemas, client factories, telemetry, errors."""
