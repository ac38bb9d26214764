"""The offline playground: `imagine-bot demo` runs the real bot between a Slack emulator and an Azure
emulator and shows the channel in a browser page (`runner.run_demo`, `server.PlaygroundApp`)."""
