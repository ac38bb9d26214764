"""Tools for developing imagine-bot, never shipped with it: loopback emulators of Slack and Azure
OpenAI, the harness that runs the real bot as a process, and the browser playground.

Tests, benchmarks and `python3 dev.py demo` import it from the checkout; `pip install .` leaves it out.
"""
