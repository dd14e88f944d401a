"""DockerSpawner for a school: the container's user is the hub user, admins may
get other resource limits."""

from dockerspawner import DockerSpawner
from traitlets import Float, Unicode


class SchoolDockerSpawner(DockerSpawner):
    admin_mem_limit = Unicode(
        "",
        config=True,
        help="Memory limit for admins' servers (e.g. 4G); empty means mem_limit.",
    )
    admin_cpu_limit = Float(
        0.0,
        config=True,
        help="CPU limit for admins' servers; 0 means cpu_limit.",
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._user_limits = (self.mem_limit, self.cpu_limit)

    def limits(self, admin: bool) -> tuple:
        """(mem_limit, cpu_limit) for a user who is, or is not, an admin now."""
        mem, cpu = self._user_limits
        if admin:
            mem, cpu = self.admin_mem_limit or mem, self.admin_cpu_limit or cpu
        return mem, cpu

    async def start(self):
        # Admin status can change at every sign-in (team membership): read it at each start.
        self.mem_limit, self.cpu_limit = self.limits(self.user.admin)
        return await super().start()

    def get_env(self):
        env = super().get_env()
        # docker-stacks convention: start.sh (as root) renames its user to
        # NB_USER and moves the home there.
        env["NB_USER"] = self.user.name
        return env
