"""Every string and Block Kit message a Slack user sees, in one package, one module per surface.

Anything that came from a user or a model passes through `text.escape` before it is put in mrkdwn, so
a prompt (or a revised prompt) can never ping `@channel`, mention someone or forge a link. Raw
exception text never appears here: errors arrive as typed values and are described in plain words.
"""
