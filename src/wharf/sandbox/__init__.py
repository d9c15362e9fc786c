"""Running user code in a bubblewrap sandbox: one profile type, one function that wraps argv.

Every launch of user code — a build's environment install, an app replica, a batch worker, a
helper that runs in a deployment's environment — describes what the process may see in a
``SandboxProfile`` and asks ``Sandbox.command`` for the argv to run. When the sandbox is off,
that argv is the command itself, so a launch site never needs a second code path.
"""

from wharf.sandbox.profile import SandboxProfile, sandbox_env
from wharf.sandbox.sandbox import NO_SANDBOX, Sandbox, SandboxState, detect_sandbox

__all__ = [
    "NO_SANDBOX",
    "Sandbox",
    "SandboxProfile",
    "SandboxState",
    "detect_sandbox",
    "sandbox_env",
]
