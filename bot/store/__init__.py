"""The bottom layer: the tables, the job's one shape, the clock, the engine and migrations, and the
one read facade for usage. Only `bot.jobs.queue`, `bot.jobs.pacing` and `bot.store.usage` touch the engine."""
