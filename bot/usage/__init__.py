"""The `generations` table (queue, audit trail and usage log at once) and what reads it."""
