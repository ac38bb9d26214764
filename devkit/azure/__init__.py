"""A loopback emulator of Azure OpenAI's image APIs as they are in December 2026.

GPT image generations and edits (JSON, multipart, streamed partial images), the Responses API's image tool
(the revised prompt on today's models), the older deployments path, legacy DALL-E 3 and DALL-E 2 flows,
scripted faults, pauses, quotas and retirements. The contract it implements, with its public sources, is
docs/contracts/azure-openai-images.md. It shares no code with the bot: it is a test double of the service.
"""

from devkit.azure.emulator import DEFAULT_CHAT_DEPLOYMENTS, DEFAULT_DEPLOYMENTS, AzureEmulator
from devkit.azure.faults import (
    ContentPolicy,
    DeploymentGone,
    Fault,
    Gate,
    Malformed,
    OperationStatus,
    OutputFiltered,
    PromptFiltered,
    RateLimited,
    ServerError,
    StreamBreaks,
)
from devkit.azure.recording import Recorded

__all__ = [
    "DEFAULT_CHAT_DEPLOYMENTS",
    "DEFAULT_DEPLOYMENTS",
    "AzureEmulator",
    "ContentPolicy",
    "DeploymentGone",
    "Fault",
    "Gate",
    "Malformed",
    "OperationStatus",
    "OutputFiltered",
    "PromptFiltered",
    "RateLimited",
    "Recorded",
    "ServerError",
    "StreamBreaks",
]
