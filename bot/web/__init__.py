"""The HTTP front: one asyncio process answering Slack (`front`) and serving the App Home chart (`charts`)."""
