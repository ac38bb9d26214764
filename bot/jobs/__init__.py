"""The durable job queue (the `generations` table) and the workers that drain it."""
