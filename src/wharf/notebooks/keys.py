"""The names Wharf's route proxy and a workbench's JupyterLab agree on (no Jupyter import)."""

KEY_VARIABLE = "WHARF_WORKBENCH_KEY"
"""The environment variable that hands JupyterLab the key of this start."""
WORKBENCH_KEY_HEADER = "X-Wharf-Workbench-Key"
"""Added by the proxy to every request it admits: the key of this start."""
CREDENTIAL_HEADER = "X-Wharf-Credential"
"""``token`` or ``cookie``: how the proxy admitted the request."""
IDENTITY_PROVIDER = "wharf.notebooks.identity.WorkbenchIdentityProvider"
