"""Slack: the Web API calls the bot makes (`gateway`) and the HTTP bodies Slack sends it (`bodies`)."""
