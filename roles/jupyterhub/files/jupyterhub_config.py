# All settings come from schoolhub.yaml, rendered by the jupyterhub role.
from schoolhub.config import configure

configure(c)  # noqa: F821 (c is given by JupyterHub)
