"""What runs inside a workbench's JupyterLab process, never in Wharf's server."""
