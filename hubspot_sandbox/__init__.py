"""A local HTTP stand-in for HubSpot's CRM v3 deals API.

`SandboxAccount` computes the data it serves; `SandboxServer` runs it in a subprocess.
"""

from hubspot_sandbox.account import SandboxAccount
from hubspot_sandbox.process import SandboxServer

__all__ = ["SandboxAccount", "SandboxServer"]
