# shellcheck shell=bash
# A real Prometheus server (Debian's prometheus, 2.42) for the ignored test that scrapes
# warroom-local (infra/local/tests/prometheus_real.rs). Source after infra/lib/common.sh;
# it defines functions only. The test starts its own instance (its own config, storage and
# port in a temporary directory) and needs just the binary on PATH.
#
#   _prometheus_install   installs the package when missing (apt-get: needs root), without
#                         its recommended node exporter, and stops the system service the
#                         package may start: nothing may listen on :9090 behind the tests,
#                         and no test depends on a service.
#   ensure_prometheus     infra/test.sh's step: installs if missing and names the version.

_prometheus_stop_service() {
    # Where services run (systemd, or a SysV init without policy-rc.d), the package's
    # postinst starts and enables prometheus.service; stop and disable it again. Harmless
    # when it never started (containers: policy-rc.d refuses).
    if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
        systemctl disable --now prometheus >/dev/null 2>&1 || true
    elif command -v invoke-rc.d >/dev/null; then
        invoke-rc.d prometheus stop >/dev/null 2>&1 || true
    fi
}

_prometheus_install() {
    command -v prometheus >/dev/null && return 0
    if ((EUID != 0)); then
        say "prometheus is not installed and installing it needs root:"
        say "  apt-get install -y --no-install-recommends prometheus"
        return 1
    fi
    say "installing prometheus (Debian package; about 20 s)"
    # Noninteractive: the package must not stop to ask anything on a CI machine.
    # --no-install-recommends: not prometheus-node-exporter (another service, unused here).
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null || return 1
    _prometheus_stop_service
    command -v prometheus >/dev/null
}

ensure_prometheus() {
    _prometheus_install || return 1
    say "$(prometheus --version 2>&1 | head -n 1)"
}
