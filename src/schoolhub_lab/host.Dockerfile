# A test host: systemd as PID 1, a Docker engine, python3 for Ansible, and the
# machine's extra CA certificates. Stands in for a VM in molecule and the lab.
ARG BASE
FROM ${BASE}
ARG PACKAGES
ENV container=docker DEBIAN_FRONTEND=noninteractive
COPY ca/ /usr/local/share/ca-certificates/
# Apt as on a VM: the base's setting for images (keep no package cache) goes,
# or every apt and apt-mark call the roles make rebuilds apt's cache (0.75 s).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ${PACKAGES} \
 && update-ca-certificates \
 && apt-get clean \
 && rm /etc/apt/apt.conf.d/docker-clean \
 && systemctl mask getty.target console-getty.service systemd-logind.service \
      systemd-remount-fs.service systemd-modules-load.service
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
