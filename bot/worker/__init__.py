"""The worker side: posting placeholders (`announcer`), running jobs (`runner`) and the threads that
drive both (`pool`). It talks to Azure through `bot.images` and to Slack through `bot.slack.gateway`."""
