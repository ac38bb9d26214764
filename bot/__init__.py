"""/imagine for Slack: images from Azure OpenAI, posted with the prompt the model used."""
