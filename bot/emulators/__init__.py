"""Loopback emulators of Slack's Web API and Azure OpenAI's image API.

They speak real HTTP and follow `shared/reference/` to the letter. The test suite, the benchmarks and
`imagine-bot demo` all use these same two emulators, so there is one faithful copy of each service.
"""
