"""Who a request to a workbench's JupyterLab is: the user Wharf's route proxy let through.

Loaded by JupyterLab (``--ServerApp.identity_provider_class``), inside the workbench's sandbox.
JupyterLab has no token of its own here: a token would be written into every page it serves
(``page_config``). Instead the proxy adds a key made for each start (``WORKBENCH_KEY_HEADER``),
and says how it admitted the request: with a Wharf token (``Authorization: Bearer``, a script:
no XSRF check needed, as Jupyter treats its own tokens) or with the workbench cookie (a browser:
Jupyter's XSRF and origin checks apply as usual). A request without the key — anything else
on the machine that finds the port — is nobody.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from jupyter_server.auth.identity import (  # type: ignore[import-not-found]
    IdentityProvider,
    User,
)
from traitlets import default

from wharf.notebooks.keys import CREDENTIAL_HEADER, KEY_VARIABLE, WORKBENCH_KEY_HEADER

# Taken out of the environment at once, so kernels and terminals never inherit it.
_KEY = os.environ.pop(KEY_VARIABLE, "")
_USER = os.environ.get("WHARF_USER", "user")


class WorkbenchIdentityProvider(IdentityProvider):  # type: ignore[misc]
    """Admits requests that carry this start's key; nobody else."""

    @default("token")
    def _token_default(self) -> str:
        return ""  # no Jupyter token: nothing to leak into pages

    @property
    def auth_enabled(self) -> bool:
        return True

    @property
    def login_available(self) -> bool:
        return False

    def get_user(self, handler: Any) -> Any:
        current = getattr(handler, "_jupyter_current_user", None)
        if current:
            return current
        sent = handler.request.headers.get(WORKBENCH_KEY_HEADER, "")
        if not _KEY or not hmac.compare_digest(sent.encode(), _KEY.encode()):
            return None
        if handler.request.headers.get(CREDENTIAL_HEADER) == "token":
            handler._token_authenticated = True  # a script, as with Jupyter's own tokens
        return User(username=_USER, name=_USER, display_name=_USER)
