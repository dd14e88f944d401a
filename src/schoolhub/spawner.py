"""DockerSpawner for a school: the container's user is the hub user; admins
(TAs) get their own limits, write access to the shares, and sudo."""

from dockerspawner import DockerSpawner
from traitlets import Dict, Float, Unicode


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

    student_volumes = Dict(
        config=True,
        help="Volumes (DockerSpawner format) added for non-admins: the shares read-only.",
    )
    admin_volumes = Dict(
        config=True,
        help="Volumes added for admins (TAs): shares writable.",
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._user_limits = (self.mem_limit, self.cpu_limit)
        self._home_volumes = dict(self.volumes)

    def volumes_for(self, admin: bool) -> dict:
        return {**self._home_volumes, **(self.admin_volumes if admin else self.student_volumes)}

    def limits(self, admin: bool) -> tuple:
        """(mem_limit, cpu_limit) for a user who is, or is not, an admin now."""
        mem, cpu = self._user_limits
        if admin:
            mem, cpu = self.admin_mem_limit or mem, self.admin_cpu_limit or cpu
        return mem, cpu

    async def start(self):
        # Admin status can change at every sign-in (team membership): read it at each start.
        self.mem_limit, self.cpu_limit = self.limits(self.user.admin)
        self.volumes = self.volumes_for(self.user.admin)
        return await super().start()

    def get_env(self):
        env = super().get_env()
        # docker-stacks convention: start.sh (as root) renames its user to
        # NB_USER and moves the home there.
        env["NB_USER"] = self.user.name
        admin = "yes" if self.user.admin else "no"
        # The start hook puts admins in the admin group; docker-stacks' start.sh grants sudo.
        env["SCHOOL_ADMIN"] = env["GRANT_SUDO"] = admin
        return env
