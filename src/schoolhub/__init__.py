"""schoolhub: JupyterHub for a summer school on a few Docker hosts."""
